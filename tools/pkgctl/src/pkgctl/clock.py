"""Where time stands for the charger (docs/contract.md §3: it has no other clock), as pkgctl
shows it; light, so that `pkgctl clock` reads it through the charger's API without Kafka."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Clock:
    """Where time stands for the charger (docs/contract.md §3: it has no other clock)."""

    latest_tick: dict[str, Any] | None  # the tick sent last (of the topic's latest records)
    settled: dict[str, Any] | None  # the latest ChargesSettled: the charger's clock
    now: datetime

    @property
    def ahead_by(self) -> timedelta | None:
        """How far the charger's clock is ahead of the wall clock (None: not ahead)."""
        if self.settled is None:
            return None
        at = datetime.fromisoformat(self.settled["at"])
        return at - self.now if at > self.now + CLOCK_SLACK else None


CLOCK_SLACK = timedelta(minutes=5)
"""Ticks are sent from other machines' clocks: a few minutes ahead is not "ahead"."""
