"""Catalog command handlers, each `handler(command, uow, ctx)` in one unit of work (state, dedupe
record, outbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import structlog

from catalog.domain import model
from catalog.service_layer.ports import UnitOfWork
from pkgcontract import topics
from pkgcontract.messages import (
    DefinePackage,
    Message,
    PackageRetired,
    RetirePackage,
    natural_event_id,
)
from pkgcontract.messages.reading import TOPIC_MESSAGES
from pkgshared.exceptions import RuleBroken, rejection

log = structlog.get_logger(__name__)


def defined_event_id(package_id: str, version: int) -> UUID:
    return natural_event_id(f"defined:{package_id}:{version}")


def retired_event_id(package_id: str, version: int) -> UUID:
    return natural_event_id(f"retired:{package_id}:{version}")


@dataclass(frozen=True)
class Context:
    """What a command's handler needs besides the command and the unit of work (every handler
    is `handler(command, uow, ctx)`)."""

    today: date


async def handle_command(cmd: DefinePackage | RetirePackage, uow: UnitOfWork, ctx: Context) -> None:
    """Define or retire a package; RuleBroken when the command breaks a rule."""
    await COMMAND_HANDLERS[type(cmd)](cmd, uow, ctx)


async def reject_command(cmd: Message, uow: UnitOfWork, broken: RuleBroken) -> None:
    """Answer a command that broke a rule (see _reject); nothing was changed by it."""
    package_id = getattr(cmd, "package_id", "")
    _reject(uow, cmd, package_id, broken, await uow.packages.get(package_id))


async def _define(cmd: DefinePackage, uow: UnitOfWork, ctx: Context) -> None:
    current = await uow.packages.get(cmd.package_id)
    defined = model.define(current, cmd, ctx.today)
    defined = defined.model_copy(
        update={"event_id": defined_event_id(defined.package_id, defined.version)}
    )
    await uow.packages.add_version(defined)
    uow.emit(defined)
    log.info("package defined", package_id=cmd.package_id, version=defined.version)


async def _retire(cmd: RetirePackage, uow: UnitOfWork, _ctx: Context) -> None:
    current = await uow.packages.get(cmd.package_id)
    retired = model.retire(current, cmd)
    retired = retired.model_copy(
        update={"event_id": retired_event_id(retired.package_id, retired.version)}
    )
    await uow.packages.mark_retired(cmd.package_id)
    uow.emit(retired)
    log.info("package retired", package_id=cmd.package_id, version=retired.version)


Handler = Callable[[Any, UnitOfWork, Context], Awaitable[None]]
COMMAND_HANDLERS: dict[type[Message], Handler] = {DefinePackage: _define, RetirePackage: _retire}
"""The handler of each message type of catalog.commands (pkgcontract.messages.reading)."""
assert set(COMMAND_HANDLERS) == set(TOPIC_MESSAGES[topics.CATALOG_COMMANDS])


def _reject(
    uow: UnitOfWork,
    cmd: Message,
    package_id: str,
    broken: RuleBroken,
    current: model.PackageState | None,
) -> None:
    uow.emit(topics.CATALOG_PACKAGES, package_id, rejection(cmd, broken))
    if current is not None:
        # catalog.packages is compacted: the last record of a key is all a rebuilding consumer
        # sees. Re-publish the package's state after the rejection so it stays the last record.
        uow.emit(current.latest)
        if current.retired:
            version = current.latest.version
            again = PackageRetired(
                event_id=retired_event_id(package_id, version),
                package_id=package_id,
                version=version,
            )
            uow.emit(again)
