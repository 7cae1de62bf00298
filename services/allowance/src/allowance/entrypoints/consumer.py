"""The allowance service's Kafka subscribers: read, call a handler, nothing else."""

from __future__ import annotations

from datetime import timedelta

from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.config import AllowanceSettings
from allowance.domain.waiting import WaitingCalls
from allowance.entrypoints.calls import CallsReader
from allowance.entrypoints.worker import ApplyWorker
from allowance.service_layer import handlers
from pkgcontract import topics
from pkgcontract.messages import ChargesSettled, FreeMinutesGranted
from pkgshared.barrier import InputsBarrier
from pkgshared.failures import Tries
from pkgshared.incoming import Incoming
from pkgshared.runtime import Runtime


def wire(runtime: Runtime, waiting: WaitingCalls | None = None) -> None:
    """`waiting`: the calls held in memory, shared with the read API (bootstrap)."""
    settings = runtime.settings
    assert isinstance(settings, AllowanceSettings)
    if waiting is None:
        waiting = WaitingCalls(
            timedelta(seconds=settings.park_ahead_seconds), settings.park_after_settles
        )

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

    def uow() -> AllowanceUnitOfWork:
        return AllowanceUnitOfWork(runtime.pool, on_commit=runtime.relay.wake)

    async def on_grants(uow: AllowanceUnitOfWork, batch: list[Incoming]) -> None:
        await handlers.add_grants(
            uow, [i.message for i in batch if isinstance(i.message, FreeMinutesGranted)]
        )

    async def grants_end() -> dict[int, int]:
        return await runtime.end_offsets(runtime.topic(topics.FREE_MINUTES_GRANTED))

    grants_read = InputsBarrier(grants_end, what="grants")

    async def on_settled(uow: AllowanceUnitOfWork, batch: list[Incoming]) -> None:
        settled = [i.message for i in batch if isinstance(i.message, ChargesSettled)]
        if not settled:
            return
        latest = max(settled, key=lambda s: s.at)  # the others are earlier: covered by it

        async def positions() -> dict[int, int]:
            read = await uow.read_positions((topics.FREE_MINUTES_GRANTED,))
            return {partition: offset for (_, partition), offset in read.items()}

        async def usage_ends() -> dict[int, int]:
            return await runtime.end_offsets(runtime.topic(topics.USAGE_RATED))

        await handlers.settle(uow, latest, grants_read, positions, usage_ends)

    runtime.consume(
        topics.FREE_MINUTES_GRANTED,
        runtime.batch_consumer(topics.FREE_MINUTES_GRANTED, on_grants, uow),
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
