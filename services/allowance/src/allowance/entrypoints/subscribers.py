"""The allowance service's Kafka subscribers: receive a poll, hand it over, nothing else
(named functions of one signature: the poll, the unit of work, what they need; bootstrap.py
subscribes them with it)."""

from __future__ import annotations

from allowance.adapters.checkpoint import CallsCheckpoint
from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.service_layer import handlers
from pkgcontract.messages import ChargesSettled, FreeMinutesGranted
from pkgshared.incoming import Incoming


async def on_grants(
    batch: list[Incoming], uow: AllowanceUnitOfWork, deps: handlers.Dependencies
) -> None:
    granted = [i.message for i in batch if isinstance(i.message, FreeMinutesGranted)]
    await handlers.add_grants(granted, uow, deps)


async def on_settled(
    batch: list[Incoming], uow: AllowanceUnitOfWork, deps: handlers.Dependencies
) -> None:
    """The latest ChargesSettled of a poll (the others are earlier: covered by it)."""
    settled = [i.message for i in batch if isinstance(i.message, ChargesSettled)]
    if settled:
        await handlers.settle(max(settled, key=lambda s: s.at), uow, deps)


async def on_calls(batch: list[Incoming], uow: AllowanceUnitOfWork, calls: CallsCheckpoint) -> None:
    """Calls read: they wait in the checkpoint until the charger settles them (the batch
    consumer stores how far they were read, in `uow`)."""
    calls.read(batch)
