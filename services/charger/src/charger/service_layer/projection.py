"""The charger's projections of catalog.packages, assignment.events and usage.rated: what each
event changes, and when each assignment touched next falls due (worked out here, by the
domain; the repositories add, get and save)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

import structlog

from charger import metrics
from charger.domain.model import Assignment, PackageVersion, Terms, Tracked
from charger.domain.notices import due_moment
from charger.domain.proration import Credit, credits
from charger.service_layer.ports import UnitOfWork
from pkgshared import topics
from pkgshared.messages import (
    AssignmentChanged,
    AssignmentEnded,
    CreditIssued,
    Message,
    PackageAssigned,
    PackageDefined,
    SpendLimitSet,
    UsageRated,
    natural_event_id,
)

log = structlog.get_logger(__name__)

REFRESH_CHUNK = 1000
"""Customers per round of a package's refresh: a package with a million assignments takes a
few round trips per thousand."""


async def add_version(uow: UnitOfWork, defined: PackageDefined, notice_days: int) -> None:
    """A package version: stored, and every assignment of the package gets its due moment
    again (a version may change when the next charge falls due, e.g. a setup fee), a chunk of
    customers at a time in their lock order."""
    store = uow.projections
    await store.add_version(defined)
    package_id = defined.package_id
    customers = await store.customers_of_package(package_id)
    versions = (await store.versions({package_id})).get(package_id, [])
    for start in range(0, len(customers), REFRESH_CHUNK):
        chunk = customers[start : start + REFRESH_CHUNK]
        tracked = await store.package_assignments(chunk, package_id)
        await store.set_due(
            {t.assignment.assignment_id: due_moment(t, versions, notice_days) for t in tracked}
        )
        await store.refresh_customers(chunk)


async def add_assignments(uow: UnitOfWork, events: list[PackageAssigned], notice_days: int) -> None:
    """A run of PackageAssigned in a handful of statements whatever their number: customers
    locked (in id order, as every writer locks them) and package versions read once, rows
    added with their due moments."""
    store = uow.projections
    await store.lock_customers(sorted({e.customer_id for e in events}))
    await store.lock_packages(sorted({e.package_id for e in events}))
    versions = await store.versions({e.package_id for e in events})
    new = []
    for e in events:
        assignment = Assignment(
            assignment_id=e.assignment_id,
            customer_id=e.customer_id,
            did=e.did,
            package_id=e.package_id,
            start_date=e.start_date,
            end_date=e.end_date,
            timezone=e.timezone,
            terms=(Terms(None, e.quantity, e.auto_decrement_credit, e.free_minutes),),
        )
        fresh = Tracked(assignment, ticked_through=None, setup_done=False)
        new.append((assignment, due_moment(fresh, versions.get(e.package_id, []), notice_days)))
    await store.add_assignments(new)


async def _update(
    uow: UnitOfWork,
    assignment_id: UUID,
    change: Callable[[Assignment], Assignment],
    notice_days: int,
    correlation_id: str | None = None,
) -> None:
    """Change a known assignment and give it its due moment again; customer first, then the
    assignment: the order the tick workers lock them in. An end date set or moved credits
    the debited days it no longer covers (CONTRACT.md §7)."""
    store = uow.projections
    customer = await store.customer_of(assignment_id)
    if customer is None:
        return
    await store.lock_customers([customer])
    tracked = await store.tracked(assignment_id)
    if tracked is None:
        return
    changed = change(tracked.assignment)
    versions = (await store.versions({changed.package_id})).get(changed.package_id, [])
    due = due_moment(dataclasses.replace(tracked, assignment=changed), versions, notice_days)
    await store.save(changed, due)
    await store.refresh_customers([changed.customer_id])
    if changed.end_date is not None and changed.end_date != tracked.assignment.end_date:
        await _credit(uow, changed, versions, correlation_id)


async def _credit(
    uow: UnitOfWork,
    a: Assignment,
    versions: list[PackageVersion],
    correlation_id: str | None,
) -> None:
    """CreditIssued for each debited period the assignment's end date cuts, once per period
    (made when the change is read, not at a tick)."""
    assert a.end_date is not None
    debits = await uow.ledger.debits_to_credit(
        a.customer_id, a.assignment_id, a.end_date + timedelta(days=1)
    )
    made = await uow.ledger.record_credits(a.customer_id, credits(a, versions, debits))
    for c in made:
        uow.emit(topics.CREDITS_ISSUED, a.customer_id, credit_issued(a, c, correlation_id))
    if made:
        metrics.CREDITS.inc(len(made))
        log.info(
            "credits issued: the assignment ends before periods already debited",
            customer_id=a.customer_id,
            assignment_id=str(a.assignment_id),
            end_date=a.end_date.isoformat(),
            credits=len(made),
        )


def credit_issued(a: Assignment, c: Credit, correlation_id: str | None) -> CreditIssued:
    return CreditIssued(
        event_id=natural_event_id(c.key),
        credit_id=natural_event_id(c.key),
        customer_id=a.customer_id,
        did=a.did,
        assignment_id=a.assignment_id,
        package_id=a.package_id,
        package_version=c.version.version,
        debit_id=natural_event_id(c.debit.key),
        amount=c.amount,
        cost=c.cost,
        currency=c.debit.currency,
        period_start=c.debit.period_start,
        period_end=c.period_end,
        credited_from=c.credited_from,
        credited_days=c.credited_days,
        reason="ended_early",
        correlation_id=correlation_id,
    )


async def change_assignment(uow: UnitOfWork, e: AssignmentChanged, notice_days: int) -> None:
    terms = Terms(e.effective_from, e.quantity, e.auto_decrement_credit, e.free_minutes)
    await _update(
        uow,
        e.assignment_id,
        lambda a: dataclasses.replace(a, end_date=e.end_date, terms=(*a.terms, terms)),
        notice_days,
        e.correlation_id,
    )


async def end_assignment(uow: UnitOfWork, e: AssignmentEnded, notice_days: int) -> None:
    await _update(
        uow,
        e.assignment_id,
        lambda a: dataclasses.replace(a, end_date=e.end_date),
        notice_days,
        e.correlation_id,
    )


async def set_spend_limit(uow: UnitOfWork, e: SpendLimitSet, _notice_days: int) -> None:
    await uow.projections.set_spend_limit(e)


EVENT_HANDLERS: dict[type[Message], Callable[[Any, Any, int], Awaitable[None]]] = {
    PackageDefined: add_version,
    AssignmentChanged: change_assignment,
    AssignmentEnded: end_assignment,
    SpendLimitSet: set_spend_limit,
}
"""What the projections do with each event read one at a time (UsageRated and runs of
PackageAssigned are applied a batch at once); PackageRetired and rejections change nothing."""


async def project(uow: UnitOfWork, events: list[Message], notice_days: int = 0) -> None:
    """Apply a batch of input events to the projections, in order (the caller stores how far
    it has read with them). `notice_days`: the charger's default (CHARGE_NOTICE_DAYS)."""
    usage: list[UsageRated] = []
    assigned: list[PackageAssigned] = []
    for event in events:
        if isinstance(event, UsageRated):
            # Usage changes nothing else: a batch's records go in one statement.
            usage.append(event)
            continue
        if isinstance(event, PackageAssigned):
            # A run of new assignments is projected at once, before anything that follows.
            assigned.append(event)
            continue
        if assigned:
            await add_assignments(uow, assigned, notice_days)
            assigned = []
        handler = EVENT_HANDLERS.get(type(event))
        if handler is not None:
            await handler(uow, event, notice_days)
    if assigned:
        await add_assignments(uow, assigned, notice_days)
    await uow.projections.add_usage(usage)
