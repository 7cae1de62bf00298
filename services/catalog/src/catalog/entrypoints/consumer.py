"""The catalog's Kafka subscribers: read the command, call its handler, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from faststream import AckPolicy

from catalog.service_layer import handlers
from catalog.service_layer.unit_of_work import CatalogUnitOfWork
from pkgshared import topics
from pkgshared.kafka import decoder_for
from pkgshared.messages import (
    CommandRejected,
    DefinePackage,
    PackageDefined,
    PackageRetired,
    RetirePackage,
)
from pkgshared.runtime import Runtime


def utc_today() -> date:
    return datetime.now(UTC).date()


def wire(runtime: Runtime, today: Callable[[], date] = utc_today) -> None:
    router = runtime.router(rejections_topic=topics.CATALOG_PACKAGES)

    def uow() -> CatalogUnitOfWork:
        return CatalogUnitOfWork(runtime.pool, on_commit=runtime.relay.wake)

    @router.subscriber(
        topics.CATALOG_COMMANDS,
        group_id=runtime.group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=decoder_for(topics.CATALOG_COMMANDS),
        title="catalog.commands",
        description="DefinePackage and RetirePackage commands.",
    )
    async def on_command(command: DefinePackage | RetirePackage) -> None:
        if isinstance(command, DefinePackage):
            await handlers.define_package(command, uow(), today())
        else:
            await handlers.retire_package(command, uow())

    runtime.broker.include_router(router)
    # Events leave through the outbox relay; declared here so the AsyncAPI document shows them.
    runtime.broker.publisher(
        topics.CATALOG_PACKAGES,
        title="catalog.packages",
        description="Package versions and retirements (compacted, key package_id); rejections.",
        schema=PackageDefined | PackageRetired | CommandRejected,
    )
