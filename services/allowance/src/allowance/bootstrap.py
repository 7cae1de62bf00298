"""The allowance service's composition root: what it consumes and publishes, with which
handlers, dependencies and units of work, and the calls checkpoint that owns the calls of the
usage.rated partitions this instance is handed; `run` starts it (pkgshared.runtime builds the
pool, broker and relay). Every object is whole once built: nothing is set on it afterwards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from allowance.adapters.checkpoint import CallsCheckpoint, Limits
from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.adapters.waiting import WaitingCalls
from allowance.config import AllowanceSettings
from allowance.entrypoints import http, subscribers
from allowance.service_layer.handlers import Dependencies
from pkgcontract import topics
from pkgshared.barrier import InputsBarrier
from pkgshared.copartitioned import CoPartitioned
from pkgshared.failures import Tries
from pkgshared.incoming import BatchHandler, Incoming
from pkgshared.runtime import Runtime, run_service

MIGRATIONS = Path(__file__).parent / "migrations"
D = TypeVar("D")


def limits(settings: AllowanceSettings) -> Limits:
    return Limits(
        batch_customers=settings.apply_batch_customers,
        per_customer=settings.apply_calls_per_customer,
        batch_calls=settings.apply_batch_calls,
        max_waiting=settings.max_calls_waiting,
        park_ahead=timedelta(seconds=settings.park_ahead_seconds),
        park_after_settles=settings.park_after_settles,
    )


def waiting_calls(settings: AllowanceSettings) -> WaitingCalls:
    """The calls the checkpoint holds (the read API counts a customer's)."""
    return WaitingCalls(timedelta(seconds=settings.park_ahead_seconds), settings.park_after_settles)


async def _handle(
    subscriber: Callable[[list[Incoming], Any, D], Awaitable[None]],
    deps: D,
    uow: Any,
    batch: list[Incoming],
) -> None:
    """A subscriber (poll, unit of work, dependencies) as the batch consumer calls it, with
    its dependencies given by `partial`."""
    await subscriber(batch, uow, deps)


def _subscribe_calls(
    runtime: Runtime,
    uow: Callable[[], AllowanceUnitOfWork],
    deps: Dependencies,
    calls: CallsCheckpoint,
) -> Any:
    """usage.rated and the grants topic in one group, by range (pkgshared.copartitioned): the
    instance handed a partition of one reads the same of the other, so it owns those
    customers' calls and grants. Grants first in each poll; calls to the checkpoint (its
    keeper and rebalance listener)."""
    grants = runtime.batch_consumer(
        topics.FREE_MINUTES_GRANTED, partial(_handle, subscribers.on_grants, deps), uow
    )
    handler: BatchHandler = partial(_handle, subscribers.on_calls, calls)
    usage = runtime.batch_consumer(topics.USAGE_RATED, handler, uow, keeper=calls)
    return runtime.consume(
        topics.USAGE_RATED,
        CoPartitioned([grants, usage], calls, runtime.topic),
        "Calls (UsageRated with destination and duration_seconds), and the grants of free "
        "minutes of the same partition (the same customers).",
        group_suffix=".usage",
        projection=True,
        listener=calls,
        co_partitioned=(topics.FREE_MINUTES_GRANTED,),
    )


def bootstrap(runtime: Runtime, waiting: WaitingCalls | None = None) -> None:
    settings = runtime.settings
    assert isinstance(settings, AllowanceSettings)
    uow = partial(AllowanceUnitOfWork, runtime.pool, on_commit=runtime.relay.wake)
    deps = Dependencies(
        grants_read=InputsBarrier(
            partial(runtime.end_offsets, runtime.topic(topics.FREE_MINUTES_GRANTED)),
            what="grants",
        ),
        usage_ends=partial(runtime.end_offsets, runtime.topic(topics.USAGE_RATED)),
    )
    calls = CallsCheckpoint(
        runtime.pool,
        runtime.relay.wake,
        partial(_subscribe_calls, runtime, uow, deps),
        limits=limits(settings),
        waiting=waiting,
        source_topic=runtime.topic(topics.USAGE_RATED),
        grants_topic=runtime.topic(topics.FREE_MINUTES_GRANTED),
        partitions=runtime.end_offsets,
        group=runtime.group(".usage", projection=True),
        tries=Tries(settings.handler_max_attempts, most_seconds=settings.retry_backoff_seconds),
    )
    runtime.tasks += [calls.run, calls.check_partitions]
    runtime.consume(
        topics.CHARGER_PROGRESS,
        runtime.batch_consumer(
            topics.CHARGER_PROGRESS, partial(_handle, subscribers.on_settled, deps), uow
        ),
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
