"""The assignment service's Kafka subscribers: read, call a handler, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from assignment.adapters.unit_of_work import AssignmentUnitOfWork
from assignment.config import AssignmentSettings
from assignment.service_layer import handlers
from assignment.service_layer.waiting import UnknownPackageWait
from pkgcontract import topics
from pkgshared.barrier import InputsBarrier
from pkgshared.commands import command_batches, utc_today
from pkgshared.incoming import Incoming
from pkgshared.runtime import Runtime


def wire(runtime: Runtime, today: Callable[[], date] = utc_today) -> None:
    def uow() -> AssignmentUnitOfWork:
        return AssignmentUnitOfWork(runtime.pool, on_commit=runtime.relay.wake)

    async def catalog_ends() -> dict[int, int]:
        return await runtime.end_offsets(runtime.topic(topics.CATALOG_PACKAGES))

    catalog_barrier = InputsBarrier(catalog_ends, what="catalog view, catalog.packages partitions")
    settings = runtime.settings
    assert isinstance(settings, AssignmentSettings)
    unknown = UnknownPackageWait(settings.unknown_package_wait_seconds)

    async def apply(uow: AssignmentUnitOfWork, command: Any, _key: str) -> None:
        await handlers.apply_command(uow, command, today())

    async def prepare(uow: AssignmentUnitOfWork, batch: list[Any]) -> None:
        await handlers.prepare(uow, batch, catalog_barrier, unknown)

    commands = command_batches(
        topics.ASSIGNMENT_COMMANDS, topics.ASSIGNMENT_EVENTS, apply, prepare=prepare
    )
    runtime.consume(
        topics.ASSIGNMENT_COMMANDS,
        runtime.batch_consumer(
            topics.ASSIGNMENT_COMMANDS, commands, uow, rejections_topic=topics.ASSIGNMENT_EVENTS
        ),
        "AssignPackage, ChangeAssignment, EndAssignment, SetSpendLimit.",
    )

    async def on_catalog(uow: AssignmentUnitOfWork, batch: list[Incoming]) -> None:
        for item in batch:
            assert item.message is not None
            await handlers.apply_catalog_event(item.message, uow)

    # Its own group: this view is rebuilt from the topic's beginning.
    runtime.consume(
        topics.CATALOG_PACKAGES,
        runtime.batch_consumer(topics.CATALOG_PACKAGES, on_catalog, uow),
        "The catalog view used to validate assignments.",
        group_suffix=".catalog-view",
        projection=True,
    )
    runtime.publishes(
        topics.ASSIGNMENT_EVENTS,
        "Assignment lifecycle and spend limits (key customer_id); rejections.",
    )
