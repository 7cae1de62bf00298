"""The handlers of the events the charger reads from catalog.packages, assignment.events and
usage.rated (its projections): what each event changes, and when each assignment touched next
falls due (worked out here, by the domain; the repositories add, get and save). Each takes a
run of consecutive events of its type (`handlers.handle_events`) in a handful of statements
whatever their number. Long loops breathe (pkgshared.pacing)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from charger import metrics
from charger.domain.model import Assignment, PackageVersion, Terms, Tracked
from charger.domain.notices import due_moment
from charger.domain.proration import Credit, credits
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.ports import UnitOfWork
from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    CreditIssued,
    PackageAssigned,
    PackageDefined,
    SpendLimitSet,
    UsageRated,
    UsageReversed,
    natural_event_id,
)
from pkgshared.pacing import breathe

log = structlog.get_logger(__name__)

REFRESH_CHUNK = 1000
"""Customers per round of a package's refresh: a package with a million assignments takes a
few round trips per thousand."""


async def add_versions(
    events: Sequence[PackageDefined], uow: UnitOfWork, deps: Dependencies
) -> None:
    """Package versions, one at a time."""
    for defined in events:
        await _add_version(defined, uow, deps.policy.notice_days)


async def _add_version(defined: PackageDefined, uow: UnitOfWork, notice_days: int) -> None:
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
        due: dict[UUID, datetime | None] = {}
        for t in tracked:
            due[t.assignment.assignment_id] = due_moment(t, versions, notice_days)
            await breathe()
        await store.set_due(due)
        await store.refresh_customers(chunk)


async def add_assignments(
    events: Sequence[PackageAssigned], uow: UnitOfWork, deps: Dependencies
) -> None:
    """A run of PackageAssigned in a handful of statements whatever their number: customers
    locked (in id order, as every writer locks them) and package versions read once, rows
    added with their due moments."""
    store, notice_days = uow.projections, deps.policy.notice_days
    await store.lock_customers(sorted({e.customer_id for e in events}))
    await store.lock_packages(sorted({e.package_id for e in events}))
    versions = await store.versions({e.package_id for e in events})
    new = []
    for e in events:
        await breathe()
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


Change = AssignmentChanged | AssignmentEnded


def _changed(a: Assignment, e: Change) -> Assignment:
    """The assignment as the event leaves it."""
    if isinstance(e, AssignmentEnded):
        return dataclasses.replace(a, end_date=e.end_date)
    terms = Terms(e.effective_from, e.quantity, e.auto_decrement_credit, e.free_minutes)
    return dataclasses.replace(a, end_date=e.end_date, terms=(*a.terms, terms))


async def update_assignments(events: Sequence[Change], uow: UnitOfWork, deps: Dependencies) -> None:
    """A run of AssignmentChanged / AssignmentEnded (each assignment once) in a handful of
    statements whatever their number, as `add_assignments`: customers locked (in id order,
    as every writer locks them), then the assignments; each saved with its due moment again;
    an end date set or moved credits the debited days it no longer covers (docs/contract.md §7),
    once per period. One run names each assignment once (`handlers.handle_events`)."""
    store, notice_days = uow.projections, deps.policy.notice_days
    customers = await store.customers_of([e.assignment_id for e in events])
    known = [e for e in events if e.assignment_id in customers]
    if not known:
        return
    await store.lock_customers(sorted({customers[e.assignment_id] for e in known}))
    tracked = await store.tracked([e.assignment_id for e in known])
    versions = await store.versions({t.assignment.package_id for t in tracked.values()})
    saved: list[tuple[Assignment, datetime | None]] = []
    ended: list[tuple[Assignment, str | None]] = []  # end dates set or moved, and by whom
    for e in known:
        await breathe()
        t = tracked.get(e.assignment_id)
        if t is None:
            continue
        changed = _changed(t.assignment, e)
        mine = versions.get(changed.package_id, [])
        saved.append(
            (changed, due_moment(dataclasses.replace(t, assignment=changed), mine, notice_days))
        )
        if changed.end_date is not None and changed.end_date != t.assignment.end_date:
            ended.append((changed, e.correlation_id))
    await store.save(saved)
    await store.refresh_customers(sorted({a.customer_id for a, _ in saved}))
    await _credit(uow, ended, versions)


async def _credit(
    uow: UnitOfWork,
    ended: list[tuple[Assignment, str | None]],
    versions: dict[str, list[PackageVersion]],
) -> None:
    """CreditIssued for each debited period the assignments' end dates cut, once per period
    (made when the change is read, not at a tick)."""
    if not ended:
        return
    debits = await uow.ledger.debits_to_credit(
        [
            (a.customer_id, a.assignment_id, a.end_date + timedelta(days=1))
            for a, _ in ended
            if a.end_date is not None
        ]
    )
    owed: list[tuple[str, Credit]] = []
    about: dict[str, tuple[Assignment, str | None]] = {}
    for a, correlation_id in ended:
        for c in credits(a, versions.get(a.package_id, []), debits.get(a.assignment_id, [])):
            owed.append((a.customer_id, c))
            about[c.key] = (a, correlation_id)
        await breathe()
    made = await uow.ledger.record_credits(owed)
    for _, c in made:
        a, correlation_id = about[c.key]
        uow.emit(credit_issued(a, c, correlation_id))
        await breathe()
    if made:
        metrics.CREDITS.inc(len(made))
        log.info(
            "credits issued: assignments end before periods already debited",
            credits=len(made),
            assignments=len({about[c.key][0].assignment_id for _, c in made}),
            customers=sorted({customer for customer, _ in made})[:20],
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


async def set_spend_limits(
    events: Sequence[SpendLimitSet], uow: UnitOfWork, _deps: Dependencies
) -> None:
    for e in events:
        await uow.projections.set_spend_limit(e)


async def add_usage(records: Sequence[UsageRated], uow: UnitOfWork, _deps: Dependencies) -> None:
    """Usage for minimum spends: a run of records in one statement."""
    await uow.projections.add_usage(list(records))


async def reverse_usage(
    reversals: Sequence[UsageReversed], uow: UnitOfWork, _deps: Dependencies
) -> None:
    """Usage withdrawn (each after the records read before it): a run in one statement."""
    await uow.projections.reverse_usage(list(reversals))
