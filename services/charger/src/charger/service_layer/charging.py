"""Making due charges: for the customers a worker has claimed (ticks) or for one customer
(RunPackage). Everything for one batch happens in the caller's unit of work: the ledger rows,
the events (outbox) and the progress, so a crash leaves all of it or none of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from charger.adapters.store import ChargerStore, Tracked
from charger.domain.charges import Charge, Outcome, decide, due_charges, next_due, settle
from charger.domain.model import MonthTotals, PackageVersion
from charger.domain.schedule import day_start
from charger.service_layer.events import Reason, declined_event, encoded_charge
from charger.service_layer.unit_of_work import ChargerUnitOfWork
from pkgshared import topics
from pkgshared.messages import RunLine, instant_str


@dataclass
class Made:
    charged: int = 0
    declined: int = 0
    grants: int = 0


async def _settled(store: ChargerStore, charges: list[Charge]) -> list[Charge]:
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
    uow: ChargerUnitOfWork, decisions: list[tuple[Charge, Outcome]], reason: Reason, made: Made
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    made_at = datetime.now(UTC)  # the events' occurred_at: metadata, never a due decision
    made_at_text = instant_str(made_at)
    for charge, outcome in decisions:
        if outcome == "skip":
            continue
        a = charge.assignment
        status = {"charge": "charged", "decline": "declined", "covered": "covered"}[outcome]
        rows.append(
            (
                charge.key,
                a.customer_id,
                a.assignment_id,
                charge.kind,
                status,
                charge.period.start,
                charge.amount,
                charge.version.currency,
                charge.minutes,
                reason,
            )
        )
        if outcome == "charge":
            topic = topics.FREE_MINUTES_GRANTED if charge.kind == "grant" else topics.CREDIT_DEBITED
            event_type, payload = encoded_charge(charge, reason, made_at_text)
            uow.emit_encoded(topic, a.customer_id, event_type, payload)
            if charge.kind == "grant":
                made.grants += 1
            else:
                made.charged += 1
        elif outcome == "decline" and charge.kind != "grant":
            uow.emit(topics.CHARGER_EVENTS, a.customer_id, declined_event(charge, made_at))
            made.declined += 1
    return rows


async def charge_claimed(uow: ChargerUnitOfWork, customer_ids: list[str], at: datetime) -> Made:
    """Make every due charge of `customer_ids` (locked by the caller) up to tick `at`."""
    store = uow.store
    tracked, later = await store.due_assignments(customer_ids, at)
    versions = await store.versions({t.assignment.package_id for t in tracked})
    limits = await store.spend_limits(customer_ids)
    totals = await store.month_totals(list(limits))
    all_charges: list[Charge] = []
    progress = []
    next_due_of: dict[str, datetime | None] = {c: later.get(c) for c in customer_ids}
    for t in tracked:
        a = t.assignment
        vs = versions.get(a.package_id, [])
        start = t.ticked_through + timedelta(days=1) if t.ticked_through else None
        due = due_charges(a, vs, at, from_period=start, include_setup=not t.setup_done)
        all_charges += due.charges
        through = due.through or t.ticked_through
        setup_done = t.setup_done or due.setup_examined
        upcoming = next_due(a, vs, through, setup_done)
        progress.append((a.assignment_id, through, setup_done, upcoming))
        if upcoming is not None:
            known = next_due_of.get(a.customer_id)
            next_due_of[a.customer_id] = upcoming if known is None else min(known, upcoming)
    # Charges already in the ledger (made by RunPackage ahead of the ticks) are not made again.
    ahead = {t.assignment.assignment_id for t in tracked if t.run_charged}
    existing = (
        await store.ledger_status(
            [c.key for c in all_charges if c.assignment.assignment_id in ahead]
        )
        if ahead
        else {}
    )
    made = Made()
    rows = []
    settled = await _settled(store, [c for c in all_charges if c.key not in existing])
    by_customer: dict[str, list[Charge]] = {}
    for c in settled:
        by_customer.setdefault(c.assignment.customer_id, []).append(c)
    for customer, new in by_customer.items():
        decisions = decide(
            new, limits.get(customer), totals.get(customer, MonthTotals()), scheduled=True
        )
        rows += _apply(uow, decisions, "scheduled", made)
    await store.record(rows)
    await store.advance(progress)
    await store.set_next_due(next_due_of)
    return made


async def run_for_customer(
    uow: ChargerUnitOfWork, customer_id: str, day: date, simulate: bool
) -> tuple[list[RunLine], Made]:
    """RunPackage: every charge due by the end of `day` (next midnight in each assignment's
    zone); charge what is not yet made unless `simulate`; one report line per charge."""
    store = uow.store
    await store.lock_customer(customer_id)
    tracked: list[Tracked] = await store.assignments_of([customer_id])
    versions: dict[str, list[PackageVersion]] = await store.versions(
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
        rows = _apply(uow, decisions, "run_package", made)
        await store.record(rows)
        await store.mark_run_charged(sorted({c.assignment.assignment_id for c, _ in decisions}))

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
