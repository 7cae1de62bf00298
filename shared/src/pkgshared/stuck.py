"""Work that keeps failing, made visible: a consumer or a worker that retries the same work
for longer than STUCK_AFTER_SECONDS turns /health to 503 with the reason, and the gauge
`packages_work_stuck_seconds` says for how long (an alert fires on it). Without this, a
stalled tick worker looked healthy: the consumer-lag gauge was 0 and /health said 200."""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import Gauge

STUCK_AFTER_SECONDS = 60.0

STUCK_SECONDS = Gauge(
    "packages_work_stuck_seconds",
    "How long a consumer or worker has been retrying the same failing work (0: it is not).",
    ["work"],
)


@dataclass
class _Failing:
    since: float
    error: str
    attempts: int


class StuckWatch:
    """What each named piece of work (`consumer catalog.commands`, `tick worker`, …) is
    failing at, since when. `failed` on every failed try, `succeeded` once it goes on."""

    def __init__(self, after_seconds: float = STUCK_AFTER_SECONDS) -> None:
        self.after = after_seconds
        self._failing: dict[str, _Failing] = {}

    def failed(self, work: str, error: str) -> None:
        now = time.monotonic()
        known = self._failing.get(work)
        if known is None:
            self._failing[work] = _Failing(now, error[:300], 1)
            STUCK_SECONDS.labels(work=work).set(0)
        else:
            known.error = error[:300]
            known.attempts += 1

    def succeeded(self, work: str) -> None:
        if self._failing.pop(work, None) is not None:
            STUCK_SECONDS.labels(work=work).set(0)

    def stuck(self) -> dict[str, str]:
        """The work failing for longer than `after`, each with why and for how long; the
        gauge is brought up to date."""
        now = time.monotonic()
        out = {}
        for work, f in self._failing.items():
            seconds = now - f.since
            STUCK_SECONDS.labels(work=work).set(round(seconds, 1))
            if seconds >= self.after:
                out[work] = f"failing for {seconds:.0f} s ({f.attempts} tries): {f.error}"
        return out


WATCH = StuckWatch()
"""The process's watch: every consumer and worker of a service reports to it."""
