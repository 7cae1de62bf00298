"""Catalog command handlers: each runs in one unit of work (state, dedupe record, outbox)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import structlog

from catalog.domain import model
from catalog.service_layer.unit_of_work import CatalogUnitOfWork
from pkgshared import topics
from pkgshared.faults import crash_point
from pkgshared.messages import (
    DefinePackage,
    Message,
    PackageRetired,
    RetirePackage,
    natural_event_id,
)
from pkgshared.rules import RuleBroken, rejection

log = structlog.get_logger(__name__)


def defined_event_id(package_id: str, version: int) -> UUID:
    return natural_event_id(f"defined:{package_id}:{version}")


def retired_event_id(package_id: str, version: int) -> UUID:
    return natural_event_id(f"retired:{package_id}:{version}")


async def define_package(cmd: DefinePackage, uow: CatalogUnitOfWork, today: date) -> None:
    async with uow:
        if not await uow.first_time(cmd.event_id, topics.CATALOG_COMMANDS):
            log.info("duplicate command ignored", command_id=str(cmd.event_id))
            return
        current = await uow.packages.get(cmd.package_id)
        try:
            defined = model.define(current, cmd, today)
        except RuleBroken as broken:
            _reject(uow, cmd, cmd.package_id, broken, current)
        else:
            defined = defined.model_copy(
                update={"event_id": defined_event_id(defined.package_id, defined.version)}
            )
            await uow.packages.add_version(defined)
            uow.emit(topics.CATALOG_PACKAGES, cmd.package_id, defined)
            log.info("package defined", package_id=cmd.package_id, version=defined.version)
        crash_point("before_commit")
        await uow.commit()
        crash_point("after_commit")


async def retire_package(cmd: RetirePackage, uow: CatalogUnitOfWork) -> None:
    async with uow:
        if not await uow.first_time(cmd.event_id, topics.CATALOG_COMMANDS):
            log.info("duplicate command ignored", command_id=str(cmd.event_id))
            return
        current = await uow.packages.get(cmd.package_id)
        try:
            retired = model.retire(current, cmd)
        except RuleBroken as broken:
            _reject(uow, cmd, cmd.package_id, broken, current)
        else:
            retired = retired.model_copy(
                update={"event_id": retired_event_id(retired.package_id, retired.version)}
            )
            await uow.packages.mark_retired(cmd.package_id)
            uow.emit(topics.CATALOG_PACKAGES, cmd.package_id, retired)
            log.info("package retired", package_id=cmd.package_id, version=retired.version)
        crash_point("before_commit")
        await uow.commit()
        crash_point("after_commit")


def _reject(
    uow: CatalogUnitOfWork,
    cmd: Message,
    package_id: str,
    broken: RuleBroken,
    current: model.PackageState | None,
) -> None:
    uow.emit(topics.CATALOG_PACKAGES, package_id, rejection(cmd, broken))
    if current is not None:
        # catalog.packages is compacted: the last record of a key is all a rebuilding consumer
        # sees. Re-publish the package's state after the rejection so it stays the last record.
        uow.emit(topics.CATALOG_PACKAGES, package_id, current.latest)
        if current.retired:
            version = current.latest.version
            again = PackageRetired(
                event_id=retired_event_id(package_id, version),
                package_id=package_id,
                version=version,
            )
            uow.emit(topics.CATALOG_PACKAGES, package_id, again)
    log.info("command rejected", command_id=str(cmd.event_id), reason=broken.reason)
