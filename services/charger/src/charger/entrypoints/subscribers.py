"""The charger's Kafka subscribers: read, call a handler, nothing else (named functions and
one small class for the ticks; bootstrap.py subscribes them with what they need)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from charger import metrics
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.domain.catch_up import Policy
from charger.domain.clock_guard import ClockGuard
from charger.service_layer import handlers, projection, ticks
from pkgcontract.messages import ClockTicked
from pkgshared.barrier import InputsBarrier
from pkgshared.incoming import Incoming

if TYPE_CHECKING:
    from pkgshared.db import Pool

Inputs = InputsBarrier[tuple[str, int]]


async def on_input(uow: ChargerUnitOfWork, batch: list[Incoming], *, notice_days: int) -> None:
    """Package versions, assignments and spend limits, usage: the charger's projections."""
    events = [i.message for i in batch if i.message is not None]
    await projection.project(uow, events, notice_days)


async def on_command(
    uow: ChargerUnitOfWork, command: Any, _key: str, *, inputs: Inputs, policy: Policy
) -> None:
    await handlers.apply_command(uow, command, inputs, policy)


class Ticks:
    """The clock's subscriber: a poll's ticks handed to `ticks.take_ticks` (those too far
    ahead of the wall clock refused, the latest of the others accepted); once its unit of work
    commits, the tick workers are woken (`after_commit`, the unit of work's on_commit).
    `wall_clock`: injected by bootstrap.py, only ever used to refuse a tick."""

    def __init__(
        self,
        inputs: Inputs,
        wake_relay: Callable[[], None],
        wake_workers: Callable[[], None],
        guard: ClockGuard,
        wall_clock: Callable[[], datetime],
    ) -> None:
        self._inputs = inputs
        self._wake_relay = wake_relay
        self._wake_workers = wake_workers
        self._guard = guard
        self._wall_clock = wall_clock
        self._accepted: list[ClockTicked] = []

    async def on_ticks(self, uow: ChargerUnitOfWork, batch: list[Incoming]) -> None:
        read = [i.message for i in batch if isinstance(i.message, ClockTicked)]
        if read:
            taken = await ticks.take_ticks(read, uow, self._inputs, self._guard, self._wall_clock)
            if taken.accepted is not None:
                self._accepted.append(taken.accepted)
            for _ in range(taken.refused):
                uow.note("rejected")
            for _ in range(taken.ignored):  # not later than the clock: they change nothing
                uow.note("ignored")

    def after_commit(self) -> None:
        self._wake_relay()
        for tick in self._accepted:
            metrics.TICK_LAG.set(time.time() - tick.at.timestamp())
        self._accepted.clear()
        self._wake_workers()


async def held_assignments(pool: Pool) -> None:
    """The probe of the assignments held now."""
    held = await pool.fetchval("SELECT count(*) FROM assignments WHERE hold = 'held'")
    metrics.HELD_NOW.set(held)
