"""The assignment service's Kafka subscribers: read, call a handler, nothing else (named
functions; bootstrap.py subscribes them with what they need)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from assignment.adapters.unit_of_work import AssignmentUnitOfWork
from assignment.service_layer import handlers
from assignment.service_layer.unknown_packages import UnknownPackageWait
from pkgshared.barrier import InputsBarrier
from pkgshared.incoming import Incoming


async def on_command(
    uow: AssignmentUnitOfWork, command: Any, _key: str, *, today: Callable[[], date]
) -> None:
    await handlers.handle_command(command, uow, handlers.Context(today()))


async def before_commands(
    uow: AssignmentUnitOfWork,
    batch: list[Any],
    *,
    catalog: InputsBarrier[int],
    unknown: UnknownPackageWait,
) -> dict[UUID, float]:
    """What a batch of commands needs read first: the catalog view, up to date; returns the
    commands that wait for their package's definition, and until when."""
    return await handlers.prepare(uow, batch, catalog, unknown)


async def on_catalog(uow: AssignmentUnitOfWork, batch: list[Incoming]) -> None:
    for item in batch:
        assert item.message is not None
        await handlers.handle_catalog_event(item.message, uow)
