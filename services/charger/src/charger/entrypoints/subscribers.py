"""The charger's Kafka subscribers: read, hand over to a handler, nothing else (bootstrap.py
subscribes them with the dependencies the handlers need)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from charger import metrics
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.service_layer import handlers, ticks
from charger.service_layer.dependencies import Dependencies
from pkgcontract.messages import ClockTicked
from pkgshared.incoming import Incoming

if TYPE_CHECKING:
    from pkgshared.db import Pool


async def on_events(uow: ChargerUnitOfWork, batch: list[Incoming], *, deps: Dependencies) -> None:
    """Package versions, assignments and spend limits, usage: the charger's projections."""
    events = [i.message for i in batch if i.message is not None]
    await handlers.handle_events(events, uow, deps)


async def on_ticks(uow: ChargerUnitOfWork, batch: list[Incoming], *, deps: Dependencies) -> None:
    """The clock's ticks (clock.ticks holds nothing else): refused or accepted at once."""
    read = [i.message for i in batch if isinstance(i.message, ClockTicked)]
    if read:
        await ticks.take_ticks(read, uow, deps)


async def on_command(
    uow: ChargerUnitOfWork, command: Any, _key: str, *, deps: Dependencies
) -> None:
    await handlers.handle_command(command, uow, deps)


def after_ticks(
    wake_relay: Callable[[], None], wake_workers: Callable[[], None]
) -> Callable[[], None]:
    """What the clock consumer's commit does: the relay publishes what it wrote (TickRefused),
    the tick workers charge what the tick made due."""

    def woken() -> None:
        wake_relay()
        wake_workers()

    return woken


async def held_assignments(pool: Pool) -> None:
    """The probe of the assignments held now."""
    held = await pool.fetchval("SELECT count(*) FROM assignments WHERE hold = 'held'")
    metrics.HELD_NOW.set(held)
