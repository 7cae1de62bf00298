"""The charger's Kafka subscribers: read, call a handler, nothing else."""

from __future__ import annotations

import time
from typing import Any

from charger import metrics
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.config import ChargerSettings
from charger.domain.catch_up import Policy
from charger.domain.charge_run import latest_tick
from charger.entrypoints.worker import TickWorker
from charger.service_layer import handlers, projection
from pkgcontract import topics
from pkgcontract.messages import (
    ClockTicked,
)
from pkgshared.barrier import InputsBarrier
from pkgshared.commands import command_batches
from pkgshared.failures import Tries
from pkgshared.incoming import Incoming
from pkgshared.runtime import Runtime


def wire(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, ChargerSettings)
    worker = TickWorker(
        runtime.pool,
        on_commit=runtime.relay.wake,
        batch_customers=settings.charge_batch_customers,
        concurrency=settings.charge_concurrency,
        policy=Policy(
            catch_up_limit=settings.catch_up_limit,
            notice_days=settings.charge_notice_days,
            batch_charges=settings.charge_batch_charges,
        ),
        tries=Tries(settings.handler_max_attempts, most_seconds=settings.retry_backoff_seconds),
    )
    runtime.tasks.append(worker.run)

    async def held_assignments() -> None:
        held = await runtime.pool.fetchval("SELECT count(*) FROM assignments WHERE hold = 'held'")
        metrics.HELD_NOW.set(held)

    runtime.probes.append(held_assignments)

    def uow() -> ChargerUnitOfWork:
        return ChargerUnitOfWork(runtime.pool, on_commit=runtime.relay.wake)

    async def end_offsets() -> dict[tuple[str, int], int]:
        out = {}
        for topic in handlers.INPUTS:
            for partition, end in (await runtime.end_offsets(runtime.topic(topic))).items():
                out[(topic, partition)] = end
        return out

    inputs = InputsBarrier(end_offsets, what="projections")

    async def project(uow: ChargerUnitOfWork, batch: list[Incoming]) -> None:
        events = [i.message for i in batch if i.message is not None]
        await projection.project(uow, events, settings.charge_notice_days)

    projections = [
        (topics.CATALOG_PACKAGES, "Package versions.", ".catalog"),
        (topics.ASSIGNMENT_EVENTS, "Assignments and spend limits.", ".assignments"),
        (topics.USAGE_RATED, "Usage for minimum spend.", ".usage"),
    ]
    for topic, description, suffix in projections:
        runtime.consume(
            topic,
            runtime.batch_consumer(topic, project, uow),
            description,
            group_suffix=suffix,
            projection=True,
        )

    accepted: list[ClockTicked] = []

    def after_tick_commit() -> None:
        runtime.relay.wake()
        for tick in accepted:
            metrics.TICK_LAG.set(time.time() - tick.at.timestamp())
        accepted.clear()
        worker.wake()

    def tick_uow() -> ChargerUnitOfWork:
        return ChargerUnitOfWork(runtime.pool, on_commit=after_tick_commit)

    async def on_ticks(uow: ChargerUnitOfWork, batch: list[Incoming]) -> None:
        ticks = [i.message for i in batch if isinstance(i.message, ClockTicked)]
        if ticks:
            tick = latest_tick(ticks)
            if await handlers.accept_tick(tick, uow, inputs):
                accepted.append(tick)
            else:  # none later than the clock: they change nothing
                for _ in ticks:
                    uow.note("ignored")

    runtime.consume(
        topics.CLOCK_TICKS,
        runtime.batch_consumer(topics.CLOCK_TICKS, on_ticks, tick_uow),
        "The charger's only clock.",
        group_suffix=".ticks",
        projection=True,
    )

    async def run(uow: ChargerUnitOfWork, command: Any, _key: str) -> None:
        await handlers.apply_command(uow, command, inputs)

    commands = command_batches(topics.CHARGER_COMMANDS, topics.CHARGER_EVENTS, run)
    runtime.consume(
        topics.CHARGER_COMMANDS,
        runtime.batch_consumer(
            topics.CHARGER_COMMANDS, commands, uow, rejections_topic=topics.CHARGER_EVENTS
        ),
        "RunPackage, ReleaseHeldCharges.",
        group_suffix=".commands",
    )

    runtime.publishes(topics.CREDIT_DEBITED, "Debits, key customer_id.")
    runtime.publishes(topics.FREE_MINUTES_GRANTED, "Free minutes, key customer_id.")
    runtime.publishes(
        topics.CHARGER_EVENTS,
        "Run reports, declined charges, notices, holds and releases, rejections.",
    )
    runtime.publishes(topics.CHARGER_PROGRESS, "Ticks settled, key 'clock'.")
    runtime.publishes(
        topics.CREDITS_ISSUED, "Credits for debited days an end date cuts, key customer_id."
    )
