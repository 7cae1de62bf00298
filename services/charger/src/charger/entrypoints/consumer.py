"""The charger's Kafka subscribers: read, call a handler, nothing else."""

from __future__ import annotations

import time

from faststream.kafka import KafkaMessage

from charger import metrics
from charger.config import ChargerSettings
from charger.service_layer import handlers
from charger.service_layer.unit_of_work import ChargerUnitOfWork
from charger.service_layer.worker import TickWorker
from pkgshared import topics
from pkgshared.barrier import InputsBarrier
from pkgshared.messages import (
    AssignmentChanged,
    AssignmentEnded,
    ChargeDeclined,
    ClockTicked,
    CommandRejected,
    CreditDebited,
    FreeMinutesGranted,
    PackageAssigned,
    PackageDefined,
    PackageRetired,
    PackageRunReported,
    RunPackage,
    SpendLimitSet,
    UsageRated,
)
from pkgshared.runtime import Runtime


def wire(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, ChargerSettings)
    worker = TickWorker(
        runtime.pool,
        on_commit=runtime.relay.wake,
        batch_customers=settings.charge_batch_customers,
        concurrency=settings.charge_concurrency,
    )
    runtime.tasks.append(worker.run)

    def uow() -> ChargerUnitOfWork:
        return ChargerUnitOfWork(runtime.pool, on_commit=runtime.relay.wake)

    async def end_offsets() -> dict[tuple[str, int], int]:
        out = {}
        for topic in handlers.INPUTS:
            for partition, end in (await runtime.end_offsets(runtime.topic(topic))).items():
                out[(topic, partition)] = end
        return out

    inputs = InputsBarrier(end_offsets, what="projections")

    def position(topic: str, msg: KafkaMessage) -> handlers.Position:
        record = msg.raw_message
        return handlers.Position(topic, record.partition, record.offset)  # type: ignore[union-attr]

    projections = runtime.router()

    @runtime.subscriber(projections, topics.CATALOG_PACKAGES, "Package versions.", ".catalog", True)
    async def on_package(
        event: PackageDefined | PackageRetired | CommandRejected, msg: KafkaMessage
    ) -> None:
        await handlers.project(event, position(topics.CATALOG_PACKAGES, msg), uow())

    @runtime.subscriber(
        projections, topics.ASSIGNMENT_EVENTS, "Assignments and spend limits.", ".assignments", True
    )
    async def on_assignment(
        event: PackageAssigned
        | AssignmentChanged
        | AssignmentEnded
        | SpendLimitSet
        | CommandRejected,
        msg: KafkaMessage,
    ) -> None:
        await handlers.project(event, position(topics.ASSIGNMENT_EVENTS, msg), uow())

    @runtime.subscriber(projections, topics.USAGE_RATED, "Usage for minimum spend.", ".usage", True)
    async def on_usage(event: UsageRated, msg: KafkaMessage) -> None:
        await handlers.project(event, position(topics.USAGE_RATED, msg), uow())

    @runtime.subscriber(projections, topics.CLOCK_TICKS, "The charger's only clock.", ".ticks")
    async def on_tick(tick: ClockTicked) -> None:
        if await handlers.accept_tick(tick, uow(), inputs):
            metrics.TICK_LAG.set(time.time() - tick.at.timestamp())
            worker.wake()

    commands = runtime.router(rejections_topic=topics.CHARGER_EVENTS)

    @runtime.subscriber(commands, topics.CHARGER_COMMANDS, "RunPackage.", ".commands")
    async def on_run(command: RunPackage) -> None:
        await handlers.run_package(command, uow(), inputs)

    runtime.broker.include_router(projections)
    runtime.broker.include_router(commands)
    documented: list[tuple[str, str, object]] = [
        (topics.CREDIT_DEBITED, "Debits, key customer_id.", CreditDebited),
        (topics.FREE_MINUTES_GRANTED, "Free minutes, key customer_id.", FreeMinutesGranted),
        (
            topics.CHARGER_EVENTS,
            "Run reports, declined charges, rejections.",
            PackageRunReported | ChargeDeclined | CommandRejected,
        ),
    ]
    for topic, description, schema in documented:
        runtime.broker.publisher(topic, title=topic, description=description, schema=schema)
