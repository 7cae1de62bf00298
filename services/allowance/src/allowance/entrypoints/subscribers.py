"""The allowance service's Kafka subscribers: read, call a handler, nothing else (named
functions; bootstrap.py subscribes them with what they need). Calls are read by
`calls.CallsReader`, which keeps them in memory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.service_layer import handlers
from pkgcontract import topics
from pkgcontract.messages import ChargesSettled, FreeMinutesGranted
from pkgshared.barrier import InputsBarrier
from pkgshared.incoming import Incoming


async def on_grants(uow: AllowanceUnitOfWork, batch: list[Incoming]) -> None:
    await handlers.add_grants(
        uow, [i.message for i in batch if isinstance(i.message, FreeMinutesGranted)]
    )


async def on_settled(
    uow: AllowanceUnitOfWork,
    batch: list[Incoming],
    *,
    grants_read: InputsBarrier[int],
    usage_ends: Callable[[], Awaitable[dict[int, int]]],
) -> None:
    """The latest ChargesSettled of a poll (the others are earlier: covered by it)."""
    settled = [i.message for i in batch if isinstance(i.message, ChargesSettled)]
    if settled:
        latest = max(settled, key=lambda s: s.at)
        read_to = partial(_grants_read_to, uow)
        await handlers.settle(uow, latest, grants_read, read_to, usage_ends)


async def _grants_read_to(uow: AllowanceUnitOfWork) -> dict[int, int]:
    """How far this schema has read each partition of the grants topic."""
    read = await uow.read_positions((topics.FREE_MINUTES_GRANTED,))
    return {partition: offset for (_, partition), offset in read.items()}
