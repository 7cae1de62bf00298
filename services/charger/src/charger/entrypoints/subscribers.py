"""The charger's Kafka subscribers: read, call a handler, nothing else (named functions and
one small class for the ticks; bootstrap.py subscribes them with what they need)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from charger import metrics
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.domain.catch_up import Policy
from charger.domain.charge_run import latest_tick
from charger.service_layer import handlers, projection
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
    """The clock's subscriber: a poll's latest tick accepted; once its unit of work commits,
    the tick workers are woken (`after_commit`, the unit of work's on_commit)."""

    def __init__(
        self, inputs: Inputs, wake_relay: Callable[[], None], wake_workers: Callable[[], None]
    ) -> None:
        self._inputs = inputs
        self._wake_relay = wake_relay
        self._wake_workers = wake_workers
        self._accepted: list[ClockTicked] = []

    async def on_ticks(self, uow: ChargerUnitOfWork, batch: list[Incoming]) -> None:
        ticks = [i.message for i in batch if isinstance(i.message, ClockTicked)]
        if ticks:
            tick = latest_tick(ticks)
            if await handlers.accept_tick(tick, uow, self._inputs):
                self._accepted.append(tick)
            else:  # none later than the clock: they change nothing
                for _ in ticks:
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
