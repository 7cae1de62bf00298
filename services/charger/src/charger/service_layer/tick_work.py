"""Making due charges: for the customers a worker has claimed (ticks) or for one customer
(RunPackage). Everything for one batch happens in the caller's unit of work: the ledger rows,
the events (outbox) and the progress, so a crash leaves all of it or none of it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import structlog

from charger.adapters.events import Reason, declined_event, encoded_charge
from charger.domain.catch_up import Plan, Policy, plan_customer
from charger.domain.charges import (
    Charge,
    Outcome,
    counted,
    debit_key,
    decide,
    due_charges,
    settle,
)
from charger.domain.model import (
    MonthTotals,
    PackageVersion,
    SpendLimit,
    Tracked,
    exceeds_spend_limit,
)
from charger.domain.notices import Notice, notices_on, upcoming, wake_at
from charger.domain.schedule import day_start
from charger.service_layer.ports import Ledger, LedgerRow, Progress, UnitOfWork
from pkgcontract import topics
from pkgcontract.messages import (
    ChargesHeld,
    ChargeUpcoming,
    RunLine,
    instant_str,
    natural_event_id,
)

log = structlog.get_logger(__name__)


@dataclass
class Made:
    charged: int = 0
    declined: int = 0
    grants: int = 0
    notices: int = 0
    held: int = 0

    def add(self, other: Made) -> None:
        self.charged += other.charged
        self.declined += other.declined
        self.grants += other.grants
        self.notices += other.notices
        self.held += other.held

    def log_fields(self) -> dict[str, int]:
        return {
            "debits": self.charged,
            "grants": self.grants,
            "declined": self.declined,
            "notices": self.notices,
            "held": self.held,
        }


async def _settled(store: Ledger, charges: list[Charge]) -> list[Charge]:
    """Minimum-spend charges less their period's spend (one query for all of them)."""
    minimums = [i for i, c in enumerate(charges) if c.kind == "minimum_spend"]
    spent = await store.spends(
        [
            (
                c.assignment.customer_id,
                c.assignment.did,
                c.version.currency,
                c.valid_from,
                c.valid_until,
            )
            for c in (charges[i] for i in minimums)
        ]
    )
    out = list(charges)
    for i, amount in zip(minimums, spent, strict=True):
        out[i] = settle(charges[i], amount)
    return out


def _apply(
    uow: UnitOfWork,
    decisions: list[tuple[Charge, Outcome]],
    reason: Reason,
    made: Made,
    correlation_id: str | None = None,
) -> list[LedgerRow]:
    rows: list[LedgerRow] = []
    made_at = datetime.now(UTC)  # the events' occurred_at: metadata, never a due decision
    made_at_text = instant_str(made_at)
    for charge, outcome in decisions:
        if outcome == "skip":
            continue
        a = charge.assignment
        status = {"charge": "charged", "decline": "declined", "covered": "covered"}[outcome]
        period = charge.period
        rows.append(
            LedgerRow(
                charge.key,
                a.customer_id,
                a.assignment_id,
                charge.kind,
                status,
                period.start,
                charge.amount,
                charge.version.currency,
                charge.minutes,
                reason,
                period.end,
                period.charged_days,
                period.period_days,
                charge.cost,
                charge.version.version,
            )
        )
        if outcome == "charge":
            topic = topics.FREE_MINUTES_GRANTED if charge.kind == "grant" else topics.CREDIT_DEBITED
            event_type, payload = encoded_charge(charge, reason, made_at_text, correlation_id)
            uow.emit_encoded(topic, a.customer_id, event_type, payload)
            if charge.kind == "grant":
                made.grants += 1
            else:
                made.charged += 1
        elif outcome == "decline" and charge.kind != "grant":
            declined = declined_event(charge, made_at, correlation_id)
            uow.emit(topics.CHARGER_EVENTS, a.customer_id, declined)
            made.declined += 1
    return rows


COUNT_CHUNK_PERIODS = 2000
"""Periods examined at a time when counting a long catch-up: memory stays bounded."""


async def _not_made(store: Ledger, t: Tracked, charges: list[Charge]) -> list[Charge]:
    """`charges` less those RunPackage already recorded, minimum spends settled."""
    if t.run_charged and charges:
        existing = await store.ledger_status([c.key for c in charges])
        charges = [c for c in charges if c.key not in existing]
    return await _settled(store, charges)


async def _count_due(
    store: Ledger,
    t: Tracked,
    versions: list[PackageVersion],
    at: datetime,
    until: date | None,
) -> tuple[int, date | None, date | None]:
    """The charges a tick at `at` would make for `t` that count toward the catch-up limit,
    with the first and last period start among them; a chunk of periods at a time."""
    count, first, last = 0, None, None
    from_period = t.ticked_through + timedelta(days=1) if t.ticked_through else None
    include_setup = not t.setup_done
    while True:
        due = due_charges(
            t.assignment,
            versions,
            at,
            from_period,
            include_setup,
            until=until,
            max_periods=COUNT_CHUNK_PERIODS,
            scheduled=True,
        )
        for c in await _not_made(store, t, due.charges):
            if counted(c):
                count += 1
                first = c.period.start if first is None else min(first, c.period.start)
                last = c.period.start if last is None else max(last, c.period.start)
        if due.complete or due.through is None:
            return count, first, last
        from_period, include_setup = due.through + timedelta(days=1), False


async def _recount(
    store: Ledger, p: Plan, versions: list[PackageVersion], at: datetime, policy: Policy
) -> Plan:
    """A plan that may be over the catch-up limit: held when it is, else all its charges."""
    t = p.tracked
    count, first, last = await _count_due(store, t, versions, at, p.until)
    if count > policy.catch_up_limit:
        assert first is not None and last is not None
        return Plan(t, [], t.ticked_through, t.setup_done, "held", (count, first, last))
    start = t.ticked_through + timedelta(days=1) if t.ticked_through else None
    due = due_charges(
        t.assignment, versions, at, start, not t.setup_done, until=p.until, scheduled=True
    )
    through = due.through or t.ticked_through
    return Plan(t, due.charges, through, t.setup_done or due.setup_examined, t.hold)


async def charge_claimed(
    uow: UnitOfWork,
    customer_ids: list[str],
    at: datetime,
    tick_id: UUID,
    policy: Policy,
    only: frozenset[UUID] | None = None,
) -> tuple[Made, list[str]]:
    """Make every due charge of `customer_ids` (locked by the caller) up to tick `at`, hold
    what would exceed the catch-up limit, send the notices now due. Customers are taken in
    order until the batch has `policy.batch_charges` charges; those taken are returned (the
    others stay due for the next batch). `only`: of these assignments alone (the others
    stay due), to find the one whose charges fail."""
    store = uow.ledger
    tracked, later = await store.due_assignments(customer_ids, at, only)
    versions = await uow.projections.versions({t.assignment.package_id for t in tracked})
    of_customer: dict[str, list[Tracked]] = defaultdict(list)
    for t in tracked:
        of_customer[t.assignment.customer_id].append(t)
    plans: list[Plan] = []
    taken: list[str] = []
    size = 0
    for customer in customer_ids:
        if taken and size >= policy.batch_charges:
            break
        taken.append(customer)
        for p in plan_customer(of_customer.get(customer, []), versions, at, policy):
            if p.recount:
                p = await _recount(
                    store, p, versions.get(p.tracked.assignment.package_id, []), at, policy
                )
            size += len(p.charges)
            plans.append(p)

    limits = await store.spend_limits(taken)
    totals = await store.month_totals(list(limits))
    made = Made()
    made_at = datetime.now(UTC)  # the events' occurred_at: metadata, never a due decision
    rows = []
    charges = [c for p in plans for c in p.charges]
    # Charges already in the ledger (made by RunPackage ahead of the ticks) are not made again.
    ahead = {p.tracked.assignment.assignment_id for p in plans if p.tracked.run_charged}
    existing = (
        await store.ledger_status([c.key for c in charges if c.assignment.assignment_id in ahead])
        if ahead
        else {}
    )
    settled = await _settled(store, [c for c in charges if c.key not in existing])
    by_customer: dict[str, list[Charge]] = {}
    for c in settled:
        by_customer.setdefault(c.assignment.customer_id, []).append(c)
    for customer, new in by_customer.items():
        decisions = decide(
            new, limits.get(customer), totals.setdefault(customer, MonthTotals()), scheduled=True
        )
        rows += _apply(uow, decisions, "scheduled", made)
    await store.record(rows)

    progress: list[Progress] = []
    next_due_of: dict[str, datetime | None] = {c: later.get(c) for c in taken}
    # Notices cost nothing where no package version asks for them and the default is 0.
    noticing = {package: notices_on(vs, policy.notice_days) for package, vs in versions.items()}
    for p in plans:
        a = p.tracked.assignment
        vs = versions.get(a.package_id, [])
        if p.hold == "held":
            if p.held is not None:
                _emit_held(uow, p, tick_id, made_at)
                made.held += 1
            progress.append((a.assignment_id, p.through, p.setup_done, None, None, "held"))
            continue
        noticed_through = p.tracked.noticed_through
        on = noticing.get(a.package_id, False)
        if on:
            notices = upcoming(a, vs, at, noticed_through, policy.notice_days)
            if notices.notices:
                await _emit_notices(uow, p.tracked, notices.notices, limits, totals, made_at, made)
            noticed_through = notices.through
        upcoming_at = wake_at(
            a, vs, p.through, p.setup_done, noticed_through, policy.notice_days, on
        )
        hold = p.hold
        if hold == "released" and (upcoming_at is None or upcoming_at > at):
            hold = None  # caught up: the limit applies again from here on
            log.info(
                "held charges made",
                customer_id=a.customer_id,
                assignment_id=str(a.assignment_id),
            )
        progress.append(
            (a.assignment_id, p.through, p.setup_done, upcoming_at, noticed_through, hold)
        )
        known = next_due_of.get(a.customer_id)
        if upcoming_at is not None and (known is None or upcoming_at < known):
            next_due_of[a.customer_id] = upcoming_at
    await store.advance(progress)
    await store.set_next_due(next_due_of)
    return made, taken


async def what_was_due(
    uow: UnitOfWork, customer_id: str, assignment_id: UUID, at: datetime
) -> tuple[int, date | None, date | None]:
    """The charges of one assignment due by `at` (count, first and last period start), for
    the ChargesHeld of an assignment whose charges fail (this may fail the same way)."""
    store = uow.ledger
    tracked, _ = await store.due_assignments([customer_id], at, frozenset({assignment_id}))
    for t in tracked:
        package = t.assignment.package_id
        versions = (await uow.projections.versions({package})).get(package, [])
        return await _count_due(store, t, versions, at, None)
    return 0, None, None


async def hold_failed(
    uow: UnitOfWork,
    customer_id: str,
    assignment_id: UUID,
    at: datetime,
    tick_id: UUID,
    error: str,
    due: tuple[int, date | None, date | None],
) -> bool:
    """Hold an assignment whose charges fail for their own sake on every retry, so that the
    tick settles without it (CONTRACT.md §4 ChargesHeld, reason "failed: …"); `due` is what
    `what_was_due` could work out. False when it is no longer due (charged or held
    meanwhile)."""
    store = uow.ledger
    await store.lock_customer(customer_id)
    count, first, last = due
    held = await store.hold_due(customer_id, assignment_id, at)
    if held is None:
        return False
    package_id, next_start = held
    await store.set_next_due({customer_id: await store.next_due_of(customer_id)})
    made_at = datetime.now(UTC)  # the event's occurred_at: metadata, never a due decision
    reason = f"failed: {error}"[:500]
    uow.emit(
        topics.CHARGER_EVENTS,
        customer_id,
        ChargesHeld(
            event_id=natural_event_id(f"held:{assignment_id}:failed:{tick_id}"),
            occurred_at=made_at,
            customer_id=customer_id,
            assignment_id=assignment_id,
            package_id=package_id,
            tick_id=tick_id,
            count=max(count, 1),
            first_period_start=first or next_start,
            last_period_start=last or next_start,
            reason=reason,
        ),
    )
    log.error(
        "charges held: they fail on every retry",
        customer_id=customer_id,
        assignment_id=str(assignment_id),
        error=error[:500],
    )
    return True


def _emit_held(uow: UnitOfWork, p: Plan, tick_id: UUID, made_at: datetime) -> None:
    assert p.held is not None
    count, first, last = p.held
    a = p.tracked.assignment
    uow.emit(
        topics.CHARGER_EVENTS,
        a.customer_id,
        ChargesHeld(
            event_id=natural_event_id(f"held:{a.assignment_id}:{first.isoformat()}"),
            occurred_at=made_at,
            customer_id=a.customer_id,
            assignment_id=a.assignment_id,
            package_id=a.package_id,
            tick_id=tick_id,
            count=count,
            first_period_start=first,
            last_period_start=last,
        ),
    )
    log.warning(
        "charges held: over the catch-up limit",
        customer_id=a.customer_id,
        assignment_id=str(a.assignment_id),
        count=count,
        first_period_start=first.isoformat(),
        last_period_start=last.isoformat(),
    )


async def _emit_notices(
    uow: UnitOfWork,
    t: Tracked,
    notices: list[Notice],
    limits: dict[str, SpendLimit],
    totals: dict[str, MonthTotals],
    made_at: datetime,
    made: Made,
) -> None:
    if not notices:
        return
    if t.run_charged:  # a debit RunPackage already made is not upcoming
        made_keys = await uow.ledger.ledger_status(
            [debit_key(n.assignment, n.period.start.isoformat()) for n in notices]
        )
        notices = [
            n
            for n in notices
            if debit_key(n.assignment, n.period.start.isoformat()) not in made_keys
        ]
    a = t.assignment
    limit = limits.get(a.customer_id)
    month = totals.get(a.customer_id, MonthTotals())
    for n in notices:
        currency = n.version.currency
        exceeds = exceeds_spend_limit(limit, month, currency, n.period.start, n.amount)
        uow.emit(
            topics.CHARGER_EVENTS,
            a.customer_id,
            ChargeUpcoming(
                event_id=natural_event_id(n.key),
                occurred_at=made_at,
                customer_id=a.customer_id,
                did=a.did,
                assignment_id=a.assignment_id,
                package_id=a.package_id,
                package_version=n.version.version,
                amount=n.amount,
                currency=currency,
                period_start=n.period.start,
                period_end=n.period.end,
                due_at=n.due_at,
                exceeds_spend_limit=exceeds,
            ),
        )
        made.notices += 1


async def run_for_customer(
    uow: UnitOfWork,
    customer_id: str,
    day: date,
    simulate: bool,
    correlation_id: str | None = None,
) -> tuple[list[RunLine], Made]:
    """RunPackage: every charge due by the end of `day` (next midnight in each assignment's
    zone); charge what is not yet made unless `simulate`; one report line per charge. The
    events of a real run carry the command's `correlation_id`."""
    store = uow.ledger
    await store.lock_customer(customer_id)
    tracked: list[Tracked] = await store.assignments_of([customer_id])
    versions: dict[str, list[PackageVersion]] = await uow.projections.versions(
        {t.assignment.package_id for t in tracked}
    )
    charges: list[Charge] = []
    for t in tracked:
        a = t.assignment
        horizon = day_start(day + timedelta(days=1), a.timezone)
        charges += due_charges(a, versions.get(a.package_id, []), horizon).charges
    existing = await store.ledger_status([c.key for c in charges])
    limit = (await store.spend_limits([customer_id])).get(customer_id)
    totals = (await store.month_totals([customer_id])).get(customer_id, MonthTotals())
    new = await _settled(store, [c for c in charges if c.key not in existing])
    decisions = decide(new, limit, totals, scheduled=False)
    made = Made()
    if not simulate:
        rows = _apply(uow, decisions, "run_package", made, correlation_id)
        await store.record(rows)
        await store.mark_run_charged(sorted({c.assignment.assignment_id for c, _ in decisions}))
        # A real run charges held assignments too, and releases them (CONTRACT.md §4).
        held = [t.assignment.assignment_id for t in tracked if t.hold == "held"]
        if held:
            await store.release(held)
            log.info("held charges released by a run", customer_id=customer_id, count=len(held))

    lines: list[RunLine] = []
    for c in charges:
        if c.key in existing:
            status, amount = existing[c.key]
            lines.append(
                _line(
                    c,
                    "declined" if status == "declined" else "already_charged",
                    amount if c.is_debit else None,
                )
            )
    for c, outcome in decisions:
        status = {
            "charge": "would_charge" if simulate else "charged",
            "covered": "would_charge" if simulate else "charged",
            "decline": "declined",
            "skip": "would_charge",
        }[outcome]
        lines.append(_line(c, status, c.amount))
    lines.sort(key=lambda line: (line.period_start, str(line.assignment_id), line.kind == "grant"))
    return lines, made


def _line(c: Charge, status: str, amount: object) -> RunLine:
    return RunLine(
        assignment_id=c.assignment.assignment_id,
        package_id=c.assignment.package_id,
        kind=c.kind,
        period_start=c.period.start,
        period_end=c.period.end,
        amount=amount if c.is_debit else None,
        currency=c.version.currency,
        minutes=c.minutes,
        status=status,
    )
