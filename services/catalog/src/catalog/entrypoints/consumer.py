"""The catalog's Kafka subscribers: read the command, call its handler, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from catalog.service_layer import handlers
from catalog.service_layer.unit_of_work import CatalogUnitOfWork
from pkgshared import topics
from pkgshared.messages import (
    CommandRejected,
    DefinePackage,
    PackageDefined,
    PackageRetired,
    RetirePackage,
)
from pkgshared.runtime import Runtime, utc_today


def wire(runtime: Runtime, today: Callable[[], date] = utc_today) -> None:
    router = runtime.router(rejections_topic=topics.CATALOG_PACKAGES)

    def uow() -> CatalogUnitOfWork:
        return CatalogUnitOfWork(runtime.pool, on_commit=runtime.relay.wake)

    @runtime.subscriber(router, topics.CATALOG_COMMANDS, "DefinePackage and RetirePackage.")
    async def on_command(command: DefinePackage | RetirePackage) -> None:
        await handlers.handle_command(command, uow(), today())

    runtime.broker.include_router(router)
    # Events leave through the outbox relay; declared here so the AsyncAPI document shows them.
    runtime.broker.publisher(
        topics.CATALOG_PACKAGES,
        title="catalog.packages",
        description="Package versions and retirements (compacted, key package_id); rejections.",
        schema=PackageDefined | PackageRetired | CommandRejected,
    )
