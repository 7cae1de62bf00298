"""The charger's composition root: the handlers' dependencies (one `Dependencies`, with the
unit-of-work factory the charge of what is due opens its transactions with), the tick workers,
what it consumes and publishes; `run` starts it (pkgshared.runtime builds the pool, broker and
relay)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from charger.adapters.clock import TICK_CHANNEL
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.config import ChargerSettings
from charger.domain.catch_up import Policy
from charger.domain.clock_guard import ClockGuard
from charger.entrypoints import http, subscribers
from charger.service_layer import handlers
from charger.service_layer.charge_due import charge_due
from charger.service_layer.dependencies import Dependencies, utc_now
from pkgcontract import topics
from pkgshared.barrier import InputsBarrier
from pkgshared.commands import command_batches
from pkgshared.failures import Tries
from pkgshared.runtime import Runtime, run_service
from pkgshared.workers import NotifiedWorker

MIGRATIONS = Path(__file__).parent / "migrations"

PROJECTED = [
    (topics.CATALOG_PACKAGES, "Package versions.", ".catalog"),
    (topics.ASSIGNMENT_EVENTS, "Assignments and spend limits.", ".assignments"),
    (topics.USAGE_RATED, "Usage for minimum spend.", ".usage"),
]
"""The charger's inputs (handlers.INPUTS): (topic, description, consumer group suffix)."""


def bootstrap(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, ChargerSettings)
    pool, wake_relay = runtime.pool, runtime.relay.wake
    units = partial(ChargerUnitOfWork, pool, on_commit=wake_relay)
    deps = Dependencies(
        policy=Policy(
            catch_up_limit=settings.catch_up_limit,
            notice_days=settings.charge_notice_days,
            batch_charges=settings.charge_batch_charges,
            run_max_days=settings.run_package_max_days,
        ),
        inputs=InputsBarrier(partial(runtime.end_offsets_of, handlers.INPUTS), what="projections"),
        guard=ClockGuard(settings.clock_max_ahead_seconds),
        wall_clock=utc_now,
        healthy=runtime.database_answers,
        tries=Tries(settings.handler_max_attempts, most_seconds=settings.retry_backoff_seconds),
        batch_customers=settings.charge_batch_customers,
    )
    # The tick worker: the generic notified loop around one handler, woken by the NOTIFY of
    # any instance's accepted tick.
    worker = NotifiedWorker(
        pool,
        concurrency=settings.charge_concurrency,
        drain=partial(charge_due, units, deps),
        channel=TICK_CHANNEL,
        what="tick work",
    )
    runtime.tasks.append(worker.run)
    runtime.probes.append(partial(subscribers.held_assignments, pool))

    on_events = partial(subscribers.on_events, deps=deps)
    for topic, description, suffix in PROJECTED:
        runtime.consume(
            topic,
            runtime.batch_consumer(topic, on_events, units),
            description,
            group_suffix=suffix,
            projection=True,
        )
    after_ticks = subscribers.after_ticks(wake_relay, worker.wake)
    runtime.consume(
        topics.CLOCK_TICKS,
        runtime.batch_consumer(
            topics.CLOCK_TICKS,
            partial(subscribers.on_ticks, deps=deps),
            partial(ChargerUnitOfWork, pool, on_commit=after_ticks),
        ),
        "The charger's only clock.",
        group_suffix=".ticks",
        projection=True,
    )
    commands = command_batches(
        topics.CHARGER_COMMANDS,
        topics.CHARGER_EVENTS,
        partial(subscribers.on_command, deps=deps),
    )
    runtime.consume(
        topics.CHARGER_COMMANDS,
        runtime.batch_consumer(
            topics.CHARGER_COMMANDS, commands, units, rejections_topic=topics.CHARGER_EVENTS
        ),
        "RunPackage, ReleaseHeldCharges, GrantMinutes (top-ups).",
        group_suffix=".commands",
    )
    runtime.publishes(topics.CREDIT_DEBITED, "Debits, key customer_id.")
    runtime.publishes(topics.FREE_MINUTES_GRANTED, "Free minutes, key customer_id.")
    runtime.publishes(
        topics.CHARGER_EVENTS,
        "Run reports, declined charges, notices, holds and releases, rejections; ticks "
        "refused as too far ahead (TickRefused, key 'clock').",
    )
    runtime.publishes(topics.CHARGER_PROGRESS, "Ticks settled, key 'clock'.")
    # A ChargesSettled read means every charge before it is on Kafka (docs/contract.md §4).
    runtime.relay.publish_after_all_before(topics.CHARGER_PROGRESS)
    runtime.publishes(
        topics.CREDITS_ISSUED, "Credits for debited days an end date cuts, key customer_id."
    )


async def run() -> None:
    await run_service("charger", ChargerSettings(), MIGRATIONS, bootstrap, http.app)
