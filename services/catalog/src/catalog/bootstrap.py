"""The catalog's composition root: what it consumes and publishes, with which handlers and
units of work; `run` starts it (pkgshared.runtime builds the pool, broker and relay)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

from catalog.adapters.unit_of_work import CatalogUnitOfWork
from catalog.config import CatalogSettings
from catalog.entrypoints import http, subscribers
from pkgcontract import topics
from pkgshared.commands import command_batches, utc_today
from pkgshared.runtime import Runtime, run_service

MIGRATIONS = Path(__file__).parent / "migrations"


def bootstrap(runtime: Runtime, today: Callable[[], date] = utc_today) -> None:
    uow = partial(CatalogUnitOfWork, runtime.pool, on_commit=runtime.relay.wake)
    commands = command_batches(
        topics.CATALOG_COMMANDS,
        topics.CATALOG_PACKAGES,
        partial(subscribers.on_command, today=today),
        subscribers.on_rejected,
    )
    runtime.consume(
        topics.CATALOG_COMMANDS,
        runtime.batch_consumer(
            topics.CATALOG_COMMANDS, commands, uow, rejections_topic=topics.CATALOG_PACKAGES
        ),
        "DefinePackage and RetirePackage.",
    )
    runtime.publishes(
        topics.CATALOG_PACKAGES,
        "Package versions and retirements (compacted, key package_id); rejections.",
    )


async def run() -> None:
    await run_service("catalog", CatalogSettings(), MIGRATIONS, bootstrap, http.app)
