"""The clock guard (docs/contract.md §4 ClockTicked): a tick cannot be taken back, so a tick more
than `max_ahead` after the charger's wall clock is refused. The wall clock is only ever
compared with here, to refuse; what is due is decided by the ticks alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ClockGuard:
    """How far ahead of the wall clock a tick may be: `max_ahead_seconds` (0: no bound, for
    simulations and test harnesses that drive time)."""

    max_ahead_seconds: int

    def refuses(self, at: datetime, wall_clock: datetime) -> bool:
        """A tick at `at`, read when the wall clock said `wall_clock`: exactly the bound
        ahead is accepted, a microsecond more is refused."""
        if self.max_ahead_seconds <= 0:
            return False
        return at - wall_clock > timedelta(seconds=self.max_ahead_seconds)

    def reason(self, at: datetime, wall_clock: datetime) -> str:
        """The sentence TickRefused carries."""
        return (
            f"The tick is {_span(at - wall_clock)} ahead of the charger's wall clock, more than "
            f"CLOCK_MAX_AHEAD_SECONDS ({self.max_ahead_seconds} s) allows; a tick cannot be "
            "taken back, so it changed nothing: tick at the wall clock, or run the charger "
            "with CLOCK_MAX_AHEAD_SECONDS=0 to drive simulated time."
        )


def _span(ahead: timedelta) -> str:
    """`ahead` to the second, as an operator reads it ("26 days, 0:00:00")."""
    return str(timedelta(seconds=int(ahead.total_seconds())))
