"""The assignment service's Kafka subscribers: read, call a handler, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from faststream.kafka import KafkaMessage

from assignment.service_layer import handlers
from assignment.service_layer.unit_of_work import AssignmentUnitOfWork
from pkgshared import topics
from pkgshared.barrier import InputsBarrier
from pkgshared.messages import (
    AssignmentChanged,
    AssignmentEnded,
    AssignPackage,
    ChangeAssignment,
    CommandRejected,
    EndAssignment,
    PackageAssigned,
    PackageDefined,
    PackageRetired,
    SetSpendLimit,
    SpendLimitSet,
)
from pkgshared.runtime import Runtime, utc_today


def wire(runtime: Runtime, today: Callable[[], date] = utc_today) -> None:
    def uow() -> AssignmentUnitOfWork:
        return AssignmentUnitOfWork(runtime.pool, on_commit=runtime.relay.wake)

    async def catalog_ends() -> dict[int, int]:
        return await runtime.end_offsets(runtime.topic(topics.CATALOG_PACKAGES))

    catalog_view = InputsBarrier(catalog_ends, what="catalog view, catalog.packages partitions")
    commands = runtime.router(rejections_topic=topics.ASSIGNMENT_EVENTS)

    @runtime.subscriber(
        commands,
        topics.ASSIGNMENT_COMMANDS,
        "AssignPackage, ChangeAssignment, EndAssignment, SetSpendLimit.",
    )
    async def on_command(
        command: AssignPackage | ChangeAssignment | EndAssignment | SetSpendLimit,
        msg: KafkaMessage,
    ) -> None:
        key = msg.raw_message.key  # type: ignore[union-attr]
        text_key = key.decode("utf-8", "replace") if key else ""
        await handlers.handle_command(command, text_key, uow(), today(), catalog_view)

    catalog = runtime.router()

    # Its own group: this view is rebuilt from the topic's beginning.
    @runtime.subscriber(
        catalog,
        topics.CATALOG_PACKAGES,
        "The catalog view used to validate assignments.",
        group_suffix=".catalog-view",
        projection=True,
    )
    async def on_catalog(
        event: PackageDefined | PackageRetired | CommandRejected, msg: KafkaMessage
    ) -> None:
        record = msg.raw_message
        partition, offset = record.partition, record.offset  # type: ignore[union-attr]
        await handlers.apply_catalog_event(event, partition, offset, uow())

    runtime.broker.include_router(commands)
    runtime.broker.include_router(catalog)
    runtime.broker.publisher(
        topics.ASSIGNMENT_EVENTS,
        title="assignment.events",
        description="Assignment lifecycle and spend limits (key customer_id); rejections.",
        schema=PackageAssigned
        | AssignmentChanged
        | AssignmentEnded
        | SpendLimitSet
        | CommandRejected,
    )
