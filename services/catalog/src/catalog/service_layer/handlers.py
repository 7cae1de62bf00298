"""Catalog command handlers: each runs in one unit of work (state, dedupe record, outbox)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import structlog

from catalog.domain import model
from catalog.service_layer.unit_of_work import CatalogUnitOfWork
from pkgshared import topics
from pkgshared.messages import (
    DefinePackage,
    Message,
    PackageRetired,
    RetirePackage,
    natural_event_id,
)
from pkgshared.rules import RuleBroken, rejection
from pkgshared.uow import handle_command_once

log = structlog.get_logger(__name__)


def defined_event_id(package_id: str, version: int) -> UUID:
    return natural_event_id(f"defined:{package_id}:{version}")


def retired_event_id(package_id: str, version: int) -> UUID:
    return natural_event_id(f"retired:{package_id}:{version}")


async def handle_command(
    cmd: DefinePackage | RetirePackage, uow: CatalogUnitOfWork, today: date
) -> None:
    """Handle one catalog command exactly once (see pkgshared.uow.handle_command_once)."""

    current: model.PackageState | None = None

    async def apply() -> None:
        nonlocal current
        current = await uow.packages.get(cmd.package_id)
        if isinstance(cmd, DefinePackage):
            await _define(cmd, current, uow, today)
        else:
            await _retire(cmd, current, uow)

    def reject(broken: RuleBroken) -> None:
        # The state read by apply(), republished after the rejection (see _reject).
        _reject(uow, cmd, cmd.package_id, broken, current)

    await handle_command_once(uow, cmd, topics.CATALOG_COMMANDS, apply, reject)


async def _define(
    cmd: DefinePackage, current: model.PackageState | None, uow: CatalogUnitOfWork, today: date
) -> None:
    defined = model.define(current, cmd, today)
    defined = defined.model_copy(
        update={"event_id": defined_event_id(defined.package_id, defined.version)}
    )
    await uow.packages.add_version(defined)
    uow.emit(topics.CATALOG_PACKAGES, cmd.package_id, defined)
    log.info("package defined", package_id=cmd.package_id, version=defined.version)


async def _retire(
    cmd: RetirePackage, current: model.PackageState | None, uow: CatalogUnitOfWork
) -> None:
    retired = model.retire(current, cmd)
    retired = retired.model_copy(
        update={"event_id": retired_event_id(retired.package_id, retired.version)}
    )
    await uow.packages.mark_retired(cmd.package_id)
    uow.emit(topics.CATALOG_PACKAGES, cmd.package_id, retired)
    log.info("package retired", package_id=cmd.package_id, version=retired.version)


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
