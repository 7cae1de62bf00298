"""The allowance service's composition root: the calls waiting in memory, the calls reader and
the apply worker, what it consumes and publishes, with which handlers and units of work;
`run` starts it (pkgshared.runtime builds the pool, broker and relay)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.config import AllowanceSettings
from allowance.domain.waiting import WaitingCalls
from allowance.entrypoints import http, subscribers
from allowance.entrypoints.calls import CallsReader
from allowance.entrypoints.worker import ApplyWorker
from pkgcontract import topics
from pkgshared.barrier import InputsBarrier
from pkgshared.failures import Tries
from pkgshared.runtime import Runtime, run_service

MIGRATIONS = Path(__file__).parent / "migrations"


def waiting_calls(settings: AllowanceSettings) -> WaitingCalls:
    """The calls waiting in memory: read by the usage consumer, drained by the apply worker,
    counted by the read API."""
    return WaitingCalls(timedelta(seconds=settings.park_ahead_seconds), settings.park_after_settles)


def bootstrap(runtime: Runtime, waiting: WaitingCalls | None = None) -> None:
    settings = runtime.settings
    assert isinstance(settings, AllowanceSettings)
    if waiting is None:
        waiting = waiting_calls(settings)
    reader = CallsReader(
        runtime.pool, waiting, wake=lambda: worker.wake(), max_waiting=settings.max_calls_waiting
    )
    # A moved horizon wakes every instance's worker (NOTIFY on commit); settled calls read
    # wake this instance's.
    worker = ApplyWorker(
        runtime.pool,
        waiting,
        on_commit=runtime.relay.wake,
        batch_customers=settings.apply_batch_customers,
        per_customer=settings.apply_calls_per_customer,
        batch_calls=settings.apply_batch_calls,
        relieve=reader.relieve,
        source_topic=runtime.topic(topics.USAGE_RATED),
        tries=Tries(settings.handler_max_attempts, most_seconds=settings.retry_backoff_seconds),
    )
    runtime.tasks.append(worker.run)
    uow = partial(AllowanceUnitOfWork, runtime.pool, on_commit=runtime.relay.wake)

    runtime.consume(
        topics.FREE_MINUTES_GRANTED,
        runtime.batch_consumer(topics.FREE_MINUTES_GRANTED, subscribers.on_grants, uow),
        "Grants of free minutes.",
        group_suffix=".grants",
        projection=True,
    )
    usage = runtime.batch_consumer(topics.USAGE_RATED, reader.handle, uow, keeper=reader)
    reader.subscriber = runtime.consume(
        topics.USAGE_RATED,
        usage,
        "Calls (UsageRated with destination and duration_seconds).",
        group_suffix=".usage",
        projection=True,
        listener=reader,
    )
    worker.group = usage.group
    grants_ends = partial(runtime.end_offsets, runtime.topic(topics.FREE_MINUTES_GRANTED))
    on_settled = partial(
        subscribers.on_settled,
        grants_read=InputsBarrier(grants_ends, what="grants"),
        usage_ends=partial(runtime.end_offsets, runtime.topic(topics.USAGE_RATED)),
    )
    runtime.consume(
        topics.CHARGER_PROGRESS,
        runtime.batch_consumer(topics.CHARGER_PROGRESS, on_settled, uow),
        "ChargesSettled: calls before its `at` can be applied.",
        group_suffix=".progress",
        projection=True,
    )
    runtime.publishes(topics.FREE_MINUTES_USED, "Free minutes used by calls, key customer_id.")
    runtime.publishes(
        topics.ALLOWANCE_BALANCES, "Each grant's latest balance (compacted), key grant_id."
    )
    runtime.publishes(
        topics.ALLOWANCE_ALERTS, "A grant's use reached one of its percents, key customer_id."
    )


async def run() -> None:
    settings = AllowanceSettings()
    waiting = waiting_calls(settings)
    await run_service(
        "allowance",
        settings,
        MIGRATIONS,
        partial(bootstrap, waiting=waiting),
        partial(http.app, waiting=waiting),
    )
