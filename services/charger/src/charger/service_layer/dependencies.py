"""What the charger's handlers need beside the message and the unit of work: every handler is
`handler(message, uow, deps)`; the charge of what is due, woken rather than handed a message
and running transactions of its own, is `charge_due(units, deps)` with the unit-of-work factory
bootstrap.py injects. bootstrap.py builds one `Dependencies`; tests build theirs with the parts
they need."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from charger.domain.catch_up import Policy
from charger.domain.clock_guard import ClockGuard
from pkgshared.barrier import InputsBarrier
from pkgshared.failures import Tries


def utc_now() -> datetime:
    """The wall clock, read only to refuse a tick too far ahead of it (docs/contract.md §4
    ClockTicked), never to decide what is due."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Dependencies:
    policy: Policy = field(default_factory=Policy)
    inputs: InputsBarrier[tuple[str, int]] | None = None
    """A tick or a run waits until the inputs published before it are read
    (pkgshared.barrier.InputsBarrier); None: nothing to wait for (tests)."""
    guard: ClockGuard = field(default_factory=lambda: ClockGuard(0))
    wall_clock: Callable[[], datetime] = utc_now
    healthy: Callable[[], Awaitable[bool]] | None = None
    """Whether PostgreSQL answers: tells a failure of the infrastructure from one of the work
    (pkgshared.failures)."""
    tries: Tries = field(default_factory=Tries)
    batch_customers: int = 500
    """Customers claimed per transaction of the charge of what is due."""


NONE = Dependencies()
