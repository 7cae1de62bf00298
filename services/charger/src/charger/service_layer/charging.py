"""One transaction of the charge of what is due (`charge_due`): every due charge of a batch of
claimed customers made, what is over the catch-up limit held, the notices now due sent; and an
assignment held when its charges fail on every try. Inside the caller's unit of work; the
domain decides (charger.domain: catch_up, charges, decisions, charge_run, notices), `planning`
loads what it needs. Long loops breathe (pkgshared.pacing)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import structlog

from charger.domain.catch_up import Plan, Policy
from charger.domain.charge_run import Made, Progress, held_progress, left_by, outcomes
from charger.domain.charges import Charge
from charger.domain.decisions import decide
from charger.domain.model import MonthTotals, exceeds_spend_limit
from charger.service_layer import planning, reports, topups
from charger.service_layer.ports import UnitOfWork
from pkgshared.pacing import breathe

log = structlog.get_logger(__name__)


async def charge_batch(
    customer_ids: list[str],
    uow: UnitOfWork,
    policy: Policy,
    at: datetime,
    tick_id: UUID,
    only: frozenset[UUID] | None = None,
) -> tuple[Made, list[str]]:
    """Make every due charge of `customer_ids` (claimed by the caller) up to tick `at`, hold
    what would exceed the catch-up limit, send the notices now due. The customers taken
    (`planning.plan_batch`) are returned; `only`: of these assignments alone."""
    store = uow.ledger
    batch = await planning.plan_batch(uow, customer_ids, at, policy, only)
    limits, totals = batch.limits, batch.totals
    made, made_at = Made(), datetime.now(UTC)  # occurred_at: metadata, never a due decision
    by_customer: dict[str, list[Charge]] = {}
    for c in batch.charges:
        by_customer.setdefault(c.assignment.customer_id, []).append(c)
    rows = []
    for customer, new in by_customer.items():
        month = totals.setdefault(customer, MonthTotals())
        done = outcomes(
            decide(new, limits.get(customer), month, scheduled=True), "scheduled", made_at, made
        )
        for event in done.events:
            uow.emit(event)
            await breathe()
        rows += done.rows
    await store.record(rows)
    if only is None:  # top-ups after the package charges of the same tick (docs/readings.md)
        await topups.make_due_topups(uow, batch.taken, at, limits, totals, made_at, made)

    progress: list[Progress] = []
    next_due: dict[str, datetime | None] = {c: batch.later.get(c) for c in batch.taken}
    for p in batch.plans:
        await breathe()
        a = p.tracked.assignment
        if p.hold == "held":
            if p.held is not None:
                _emit_held(uow, p, tick_id, made_at, made)
            progress.append(held_progress(p))
            continue
        noticed, noticing = p.tracked.noticed_through, a.assignment_id in batch.notices
        if noticing:
            notices, noticed = batch.notices[a.assignment_id]
            limit, month = limits.get(a.customer_id), totals.get(a.customer_id, MonthTotals())
            for n in notices:
                exceeds = exceeds_spend_limit(
                    limit, month, n.version.currency, n.period.start, n.amount
                )
                uow.emit(reports.upcoming(a, n, exceeds, made_at))
                made.notices += 1
        vs = batch.versions.get(a.package_id, [])
        left = left_by(p, vs, at, noticed, policy, noticing)
        if left.caught_up:
            log.info(
                "held charges made", customer_id=a.customer_id, assignment_id=str(a.assignment_id)
            )
        progress.append(left.progress)
        known = next_due.get(a.customer_id)
        if left.next_at is not None and (known is None or left.next_at < known):
            next_due[a.customer_id] = left.next_at
    await store.advance(progress)
    await store.set_next_due(next_due)
    return made, batch.taken


def _emit_held(uow: UnitOfWork, p: Plan, tick_id: UUID, made_at: datetime, made: Made) -> None:
    event = reports.held(p, tick_id, made_at)
    uow.emit(event)
    made.held += 1
    log.warning(
        "charges held: over the catch-up limit",
        customer_id=event.customer_id,
        assignment_id=str(event.assignment_id),
        count=event.count,
        first_period_start=str(event.first_period_start),
    )


async def hold_failing(
    customer_id: str,
    uow: UnitOfWork,
    assignment_id: UUID,
    at: datetime,
    tick_id: UUID,
    error: str,
    due: planning.DueCount,
) -> bool:
    """Hold an assignment whose charges fail for their own sake on every retry, so that the
    tick settles without it (docs/contract.md §4 ChargesHeld, reason "failed: …"); `due`: what
    `planning.what_was_due` could work out. False when it is no longer due."""
    store = uow.ledger
    await store.lock_customer(customer_id)
    found = await store.hold_due(
        customer_id, assignment_id, at, reason=reports.failed_reason(error)
    )
    if found is None:
        return False
    package_id, next_start = found
    await store.set_next_due({customer_id: await store.next_due_of(customer_id)})
    made_at = datetime.now(UTC)  # the event's occurred_at: metadata, never a due decision
    event = reports.held_failing(
        customer_id, assignment_id, package_id, tick_id, due, next_start, error, made_at
    )
    uow.emit(event)
    log.error(
        "charges held: they fail on every retry",
        customer_id=customer_id,
        assignment_id=str(assignment_id),
        error=error[:500],
    )
    return True
