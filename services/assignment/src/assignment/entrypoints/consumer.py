"""The assignment service's Kafka subscribers: read, call a handler, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from faststream import AckPolicy
from faststream.kafka import KafkaMessage

from assignment.service_layer import handlers
from assignment.service_layer.unit_of_work import AssignmentUnitOfWork
from pkgshared import topics
from pkgshared.kafka import decoder_for
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
from pkgshared.runtime import Runtime


def utc_today() -> date:
    return datetime.now(UTC).date()


def wire(runtime: Runtime, today: Callable[[], date] = utc_today) -> None:
    def uow() -> AssignmentUnitOfWork:
        return AssignmentUnitOfWork(runtime.pool, on_commit=runtime.relay.wake)

    async def catalog_ends() -> dict[int, int]:
        return await runtime.end_offsets(runtime.topic(topics.CATALOG_PACKAGES))

    commands = runtime.router(rejections_topic=topics.ASSIGNMENT_EVENTS)

    @commands.subscriber(
        topics.ASSIGNMENT_COMMANDS,
        group_id=runtime.group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=decoder_for(topics.ASSIGNMENT_COMMANDS),
        title="assignment.commands",
        description="AssignPackage, ChangeAssignment, EndAssignment, SetSpendLimit.",
    )
    async def on_command(
        command: AssignPackage | ChangeAssignment | EndAssignment | SetSpendLimit,
        msg: KafkaMessage,
    ) -> None:
        key = msg.raw_message.key  # type: ignore[union-attr]
        text_key = key.decode("utf-8", "replace") if key else ""
        await handlers.handle_command(command, text_key, uow(), today(), catalog_ends)

    catalog = runtime.router()

    @catalog.subscriber(
        topics.CATALOG_PACKAGES,
        # Its own group: this view is rebuilt from the topic's beginning.
        group_id=f"{runtime.group_id}.catalog-view",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=decoder_for(topics.CATALOG_PACKAGES),
        title="catalog.packages (view)",
        description="The catalog view used to validate assignments.",
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
