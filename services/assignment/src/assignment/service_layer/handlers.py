"""Assignment handlers: commands (one unit of work each: state, dedupe record, outbox) and the
catalog events that keep this service's view of the catalog."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import structlog

from assignment.domain import model
from assignment.service_layer.ports import UnitOfWork
from assignment.service_layer.unknown_packages import UnknownPackageWait
from pkgcontract import topics
from pkgcontract.messages import (
    AssignPackage,
    ChangeAssignment,
    EndAssignment,
    Message,
    PackageDefined,
    PackageRetired,
    SetSpendLimit,
    SpendLimitSet,
    natural_event_id,
)
from pkgcontract.messages.reading import TOPIC_MESSAGES
from pkgshared.barrier import InputsBarrier

log = structlog.get_logger(__name__)
CatalogBarrier = InputsBarrier[int]
"""Has the catalog view read catalog.packages (by partition) up to where it was when a command
was first seen?"""


async def handle_command(cmd: Message, uow: UnitOfWork, ctx: Context) -> None:
    """Apply one command of a batch `prepare` has read; RuleBroken when it breaks a rule."""
    await COMMAND_HANDLERS[type(cmd)](cmd, uow, ctx)


async def prepare(
    uow: UnitOfWork,
    commands: list[Message],
    catalog_barrier: CatalogBarrier | None = None,
    unknown: UnknownPackageWait | None = None,
) -> dict[UUID, float]:
    """Read the assignments and packages a batch of commands names, in two round trips.

    A batch with a new assignment waits (InputsBehind, retried) until the catalog view has
    read catalog.packages up to where it ended when the batch was first seen: a package
    defined before is then known, one retired before is known as retired (one offsets
    request per batch, not per command). Returns the new assignments of a package still
    unknown that may wait for its definition, each with the moment its own wait ends (at
    most `unknown.seconds` after it was first read): define-then-assign sent back to back is
    not refused (docs/contract.md §4); the caller holds them back with their customer's later
    commands."""
    ids = [c.assignment_id for c in commands if hasattr(c, "assignment_id")]
    await uow.assignments.preload(ids)
    assigns = [c for c in commands if isinstance(c, AssignPackage)]
    new = [c for c in assigns if await uow.assignments.get(c.assignment_id) is None]
    if new and catalog_barrier is not None:
        await catalog_barrier.check(new[0].event_id, uow.catalog.positions)
    await uow.catalog.preload([c.package_id for c in assigns])
    if new and unknown is not None:
        waiting = {
            c.event_id: c.package_id for c in new if await uow.catalog.get(c.package_id) is None
        }
        if waiting:
            return unknown.waits(waiting)
    return {}


@dataclass(frozen=True)
class Context:
    """What a command's handler needs besides the command and the unit of work."""

    today: date


async def _change(cmd: ChangeAssignment, uow: UnitOfWork, ctx: Context) -> None:
    state = await uow.assignments.get(cmd.assignment_id)
    changed = model.change(state, cmd, ctx.today)
    changed = _with_id(changed, f"changed:{cmd.event_id}")
    await uow.assignments.update(changed)
    uow.emit(changed)
    log.info(
        "assignment changed",
        assignment_id=str(changed.assignment_id),
        customer_id=changed.customer_id,
        effective_from=str(changed.effective_from),
    )


async def _end(cmd: EndAssignment, uow: UnitOfWork, ctx: Context) -> None:
    state = await uow.assignments.get(cmd.assignment_id)
    ended = _with_id(model.end(state, cmd, ctx.today), f"ended:{cmd.event_id}")
    assert state is not None  # model.end rejects an unknown assignment
    await uow.assignments.update(model.after_end(state, ended), ended)
    uow.emit(ended)
    log.info(
        "assignment ended",
        assignment_id=str(ended.assignment_id),
        customer_id=ended.customer_id,
        end_date=str(ended.end_date),
    )


async def _set_limit(cmd: SetSpendLimit, uow: UnitOfWork, _ctx: Context) -> None:
    limit = SpendLimitSet(
        event_id=natural_event_id(f"spend-limit:{cmd.event_id}"),
        customer_id=cmd.customer_id,
        monthly_limit=cmd.monthly_limit,
        currency=cmd.currency,
        correlation_id=cmd.correlation_id,
    )
    await uow.assignments.set_spend_limit(limit)
    uow.emit(limit)
    log.info("spend limit set", customer_id=cmd.customer_id, limit=str(cmd.monthly_limit))


async def _assign(cmd: AssignPackage, uow: UnitOfWork, _ctx: Context) -> None:
    # The catalog view has read everything published before the batch (`prepare`).
    existing = await uow.assignments.get(cmd.assignment_id)
    package = await uow.catalog.get(cmd.package_id)
    assigned = model.assign(existing, package, cmd)
    if assigned is None:
        assert existing is not None
        # The same assignment again under a new command id: the same event again.
        uow.emit(existing.assigned)
        log.info("assignment repeated", assignment_id=str(cmd.assignment_id))
        return
    assigned = _with_id(assigned, f"assigned:{cmd.assignment_id}")
    await uow.assignments.add(assigned, package.minimum_days if package else None)
    uow.emit(assigned)
    log.info(
        "package assigned",
        assignment_id=str(assigned.assignment_id),
        customer_id=assigned.customer_id,
        package_id=assigned.package_id,
        did=assigned.did,
    )


Handler = Callable[[Any, UnitOfWork, Context], Awaitable[None]]
COMMAND_HANDLERS: dict[type[Message], Handler] = {
    AssignPackage: _assign,
    ChangeAssignment: _change,
    EndAssignment: _end,
    SetSpendLimit: _set_limit,
}
"""The handler of each message type of assignment.commands (pkgcontract.messages.reading)."""
assert set(COMMAND_HANDLERS) == set(TOPIC_MESSAGES[topics.ASSIGNMENT_COMMANDS])

M = TypeVar("M", bound=Message)


def _with_id(event: M, key: str) -> M:
    return event.model_copy(update={"event_id": natural_event_id(key)})


async def _add_package(event: PackageDefined, uow: UnitOfWork, _ctx: Context | None) -> None:
    await uow.catalog.apply_defined(event)


async def _retire_package(event: PackageRetired, uow: UnitOfWork, _ctx: Context | None) -> None:
    await uow.catalog.apply_retired(event)


EVENT_HANDLERS: dict[
    type[Message], Callable[[Any, UnitOfWork, Context | None], Awaitable[None]]
] = {
    PackageDefined: _add_package,
    PackageRetired: _retire_package,
}
"""What the catalog view does with each event of catalog.packages (a rejection changes
nothing)."""


async def handle_catalog_event(event: Message, uow: UnitOfWork, ctx: Context | None = None) -> None:
    """Keep the catalog view; idempotent, so a version read again changes nothing."""
    handler = EVENT_HANDLERS.get(type(event))
    if handler is not None:
        await handler(event, uow, ctx)
