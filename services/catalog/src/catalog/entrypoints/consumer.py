"""The catalog's Kafka subscriber: read the commands, call their handler, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from catalog.adapters.unit_of_work import CatalogUnitOfWork
from catalog.service_layer import handlers
from pkgcontract import topics
from pkgshared.commands import command_batches, utc_today
from pkgshared.exceptions import RuleBroken
from pkgshared.runtime import Runtime


def wire(runtime: Runtime, today: Callable[[], date] = utc_today) -> None:
    def uow() -> CatalogUnitOfWork:
        return CatalogUnitOfWork(runtime.pool, on_commit=runtime.relay.wake)

    async def apply(uow: CatalogUnitOfWork, command: Any, _key: str) -> None:
        await handlers.apply_command(uow, command, today())

    async def reject(uow: CatalogUnitOfWork, command: Any, _key: str, broken: RuleBroken) -> None:
        await handlers.reject_command(uow, command, broken)

    handler = command_batches(topics.CATALOG_COMMANDS, topics.CATALOG_PACKAGES, apply, reject)
    consumer = runtime.batch_consumer(
        topics.CATALOG_COMMANDS, handler, uow, rejections_topic=topics.CATALOG_PACKAGES
    )
    runtime.consume(
        topics.CATALOG_COMMANDS,
        consumer,
        "DefinePackage and RetirePackage.",
    )
    runtime.publishes(
        topics.CATALOG_PACKAGES,
        "Package versions and retirements (compacted, key package_id); rejections.",
    )
