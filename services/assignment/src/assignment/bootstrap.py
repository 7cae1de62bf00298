"""The assignment service's composition root: what it consumes and publishes, with which
handlers, units of work and barriers; `run` starts it (pkgshared.runtime builds the pool,
broker and relay)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from assignment.adapters.unit_of_work import AssignmentUnitOfWork
from assignment.config import AssignmentSettings
from assignment.entrypoints import http, subscribers
from assignment.service_layer.unknown_packages import UnknownPackageWait
from pkgcontract import topics
from pkgshared.barrier import InputsBarrier
from pkgshared.commands import command_batches, utc_today
from pkgshared.held_reading import HeldReader
from pkgshared.holding import HeldRecords
from pkgshared.runtime import Runtime, run_service

if TYPE_CHECKING:
    from pkgshared.db import Pool

MIGRATIONS = Path(__file__).parent / "migrations"


async def stored_command_offsets(pool: Pool, partitions: list[int]) -> dict[int, int]:
    """How far this schema has read assignment.commands' `partitions`."""
    async with AssignmentUnitOfWork(pool) as uow:
        read = await uow.read_positions([topics.ASSIGNMENT_COMMANDS])
    return {p: offset for (_, p), offset in read.items() if p in partitions}


def bootstrap(runtime: Runtime, today: Callable[[], date] = utc_today) -> None:
    settings = runtime.settings
    assert isinstance(settings, AssignmentSettings)
    uow = partial(AssignmentUnitOfWork, runtime.pool, on_commit=runtime.relay.wake)
    catalog_ends = partial(runtime.end_offsets, runtime.topic(topics.CATALOG_PACKAGES))
    catalog = InputsBarrier(catalog_ends, what="catalog view, catalog.packages partitions")
    unknown = UnknownPackageWait(settings.unknown_package_wait_seconds)
    # Commands waiting for their package's definition, held with their customer's later
    # ones; the others are applied at once (docs/contract.md §4).
    held = HeldRecords(retry_seconds=settings.retry_backoff_seconds)
    reader = HeldReader(held, partial(stored_command_offsets, runtime.pool))
    commands = command_batches(
        topics.ASSIGNMENT_COMMANDS,
        topics.ASSIGNMENT_EVENTS,
        partial(subscribers.on_command, today=today),
        prepare=partial(subscribers.before_commands, catalog=catalog, unknown=unknown),
        held=held,
    )
    consumer = runtime.batch_consumer(
        topics.ASSIGNMENT_COMMANDS,
        commands,
        uow,
        rejections_topic=topics.ASSIGNMENT_EVENTS,
        keeper=reader,
        held=held,
    )
    reader.subscriber = runtime.consume(
        topics.ASSIGNMENT_COMMANDS,
        consumer,
        "AssignPackage, ChangeAssignment, EndAssignment, SetSpendLimit.",
        listener=reader,
    )
    runtime.tasks.append(partial(held.run, consumer.present))

    def catalog_read() -> None:  # a package defined may release held commands at once
        runtime.relay.wake()
        held.wake()

    # Its own group: this view is rebuilt from the topic's beginning.
    catalog_uow = partial(AssignmentUnitOfWork, runtime.pool, on_commit=catalog_read)
    runtime.consume(
        topics.CATALOG_PACKAGES,
        runtime.batch_consumer(topics.CATALOG_PACKAGES, subscribers.on_catalog, catalog_uow),
        "The catalog view used to validate assignments.",
        group_suffix=".catalog-view",
        projection=True,
    )
    runtime.publishes(
        topics.ASSIGNMENT_EVENTS,
        "Assignment lifecycle and spend limits (key customer_id); rejections.",
    )


async def run() -> None:
    await run_service("assignment", AssignmentSettings(), MIGRATIONS, bootstrap, http.app)
