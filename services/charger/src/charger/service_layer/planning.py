"""What a batch of a tick's charge will charge, loaded and planned at once (`plan_batch`): the
due assignments and their package versions, the catch-up rule's plans (charger.domain.catch_up)
with the exact count of those that may be over the limit, the charges not made yet (RunPackage
may have made some ahead of the ticks) with minimum spends net of their period's spend, the
spend limits, month totals and notices due; and the counting RunPackage's simulation shares
(`count_charges`; its charges are `run_charges`'). The ledger is read here; nothing is
written."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from charger.domain.catch_up import Plan, Policy, plan_customer
from charger.domain.charge_run import Recorded
from charger.domain.charges import Charge, counted, debit_key, due_charges, net_of_spend
from charger.domain.counting import count_due, countable
from charger.domain.model import MonthTotals, PackageVersion, SpendLimit, Tracked
from charger.domain.notices import Notice, notices_on, upcoming
from charger.service_layer.ports import Ledger, UnitOfWork
from pkgshared.pacing import breathe, pieces

COUNT_CHUNK_PERIODS = 2000
"""Periods examined at a time when counting a long catch-up or listing a long run: memory
stays bounded and the event loop gets a turn between chunks (pkgshared.pacing)."""

LOOKUP_KEYS = 10_000
"""Ledger keys looked up per statement."""

DueCount = tuple[int, date | None, date | None]
"""Charges due that count toward the catch-up limit: (count, first, last period start)."""


@dataclass
class Batch:
    """What one transaction of the charge of what is due works on, loaded and planned at once
    (`plan_batch`): the service layer enters planning once per batch."""

    plans: list[Plan]
    taken: list[str]  # the customers planned, in order (the others stay due for the next batch)
    later: dict[str, datetime]  # when each taken customer is due next, beyond this batch
    versions: dict[str, list[PackageVersion]]
    charges: list[Charge] = field(default_factory=list)  # not made yet, net of spends
    limits: dict[str, SpendLimit] = field(default_factory=dict)
    totals: dict[str, MonthTotals] = field(default_factory=dict)  # this month's, by customer
    notices: dict[UUID, tuple[list[Notice], date | None]] = field(default_factory=dict)
    """The notices due of each plan not held whose versions send notices, and how far its
    assignment is noticed with them (absent: it sends none)."""


async def plan_batch(
    uow: UnitOfWork,
    customer_ids: list[str],
    at: datetime,
    policy: Policy,
    only: frozenset[UUID] | None = None,
) -> Batch:
    """The plans of `customer_ids` taken in order until the batch has `policy.batch_charges`
    charges (`only`: of these assignments alone, to find the one whose charges fail), with
    what deciding them needs: their charges not made yet, net of spends, the customers'
    spend limits and month totals, and the notices now due."""
    tracked, later = await uow.ledger.due_assignments(customer_ids, at, only)
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
        await breathe()
        taken.append(customer)
        for p in plan_customer(of_customer.get(customer, []), versions, at, policy):
            await breathe()
            if p.recount:
                vs = versions.get(p.tracked.assignment.package_id, [])
                p = await _recount(uow.ledger, p, vs, at, policy)
            size += len(p.charges)
            plans.append(p)
    batch = Batch(plans, taken, later, versions)
    batch.charges = await new_charges(uow.ledger, plans)
    batch.limits = await uow.ledger.spend_limits(taken)
    batch.totals = await uow.ledger.month_totals(list(batch.limits))
    # Notices cost nothing where no package version asks for them and the default is 0.
    noticing = {k: notices_on(vs, policy.notice_days) for k, vs in versions.items()}
    for p in plans:
        package = p.tracked.assignment.package_id
        if p.hold != "held" and noticing.get(package, False):
            batch.notices[p.tracked.assignment.assignment_id] = await notices_due(
                uow.ledger, p.tracked, versions.get(package, []), at, policy
            )
    return batch


async def new_charges(store: Ledger, plans: list[Plan]) -> list[Charge]:
    """The plans' charges less those already in the ledger (made by RunPackage ahead of the
    ticks), minimum spends net of their period's spend."""
    charges = [c for p in plans for c in p.charges]
    ahead = {p.tracked.assignment.assignment_id for p in plans if p.tracked.run_charged}
    if ahead:
        existing = await ledger_status(
            store, [c.key for c in charges if c.assignment.assignment_id in ahead]
        )
        charges = [c for c in charges if c.key not in existing]
    return await net_of_spends(store, charges)


async def ledger_status(store: Ledger, keys: list[str]) -> dict[str, Recorded]:
    """What the ledger holds of those of `keys` it holds, a few thousand a time."""
    found: dict[str, Recorded] = {}
    async for piece in pieces(keys, LOOKUP_KEYS):
        found.update(await store.ledger_status(list(piece)))
    return found


async def net_of_spends(store: Ledger, charges: list[Charge]) -> list[Charge]:
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
        out[i] = net_of_spend(charges[i], amount)
    return out


async def _count_due(
    store: Ledger, t: Tracked, versions: list[PackageVersion], at: datetime, until: date | None
) -> DueCount:
    """The charges a tick at `at` would make for `t` that count toward the catch-up limit,
    with the first and last period start among them; a chunk of periods at a time."""
    count, first, last = await count_charges(store, t, versions, at, until)
    if first is None or last is None:
        return count, None, None
    return count, first.period.start, last.period.start


async def count_charges(
    store: Ledger, t: Tracked, versions: list[PackageVersion], at: datetime, until: date | None
) -> tuple[int, Charge | None, Charge | None]:
    """The count of `_count_due`, with the first and the last charge counted (in period order):
    from the calendar when it can tell (`counting.countable`: no ledger or spend needed), else
    charge by charge, a chunk of periods at a time."""
    count, first, last = 0, None, None
    from_period = t.ticked_through + timedelta(days=1) if t.ticked_through else None
    include_setup = not t.setup_done
    if not t.run_charged and countable(versions):
        a = t.assignment
        found = count_due(a, versions, at, from_period, include_setup, until)
        if found.first is None or found.last is None:
            return 0, None, None

        def counted_on(day: date) -> list[Charge]:
            setup = include_setup and day == a.start_date
            due = due_charges(
                a, versions, at, day, setup, until=until, max_periods=1, scheduled=True
            )
            return [c for c in due.charges if counted(c)]

        return found.count, counted_on(found.first)[0], counted_on(found.last)[-1]
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
        charges = due.charges
        if t.run_charged and charges:
            existing = await store.ledger_status([c.key for c in charges])
            charges = [c for c in charges if c.key not in existing]
        for c in await net_of_spends(store, charges):
            if counted(c):
                count += 1
                first = c if first is None else first
                last = c
        if due.complete or due.through is None:
            return count, first, last
        from_period, include_setup = due.through + timedelta(days=1), False
        await breathe()


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


async def what_was_due(
    uow: UnitOfWork, customer_id: str, assignment_id: UUID, at: datetime
) -> DueCount:
    """The charges of one assignment due by `at`, for the ChargesHeld of an assignment whose
    charges fail (this may fail the same way)."""
    tracked, _ = await uow.ledger.due_assignments([customer_id], at, frozenset({assignment_id}))
    for t in tracked:
        package = t.assignment.package_id
        versions = (await uow.projections.versions({package})).get(package, [])
        return await _count_due(uow.ledger, t, versions, at, None)
    return 0, None, None


async def notices_due(
    store: Ledger, t: Tracked, versions: list[PackageVersion], at: datetime, policy: Policy
) -> tuple[list[Notice], date | None]:
    """The notices of `t` due by `at`, but not for a debit RunPackage already made, and how far
    the assignment is noticed with them."""
    found = upcoming(t.assignment, versions, at, t.noticed_through, policy.notice_days)
    notices = found.notices
    if t.run_charged and notices:
        keys = [debit_key(t.assignment, n.period.start.isoformat()) for n in notices]
        made = await store.ledger_status(keys)
        notices = [n for n, key in zip(notices, keys, strict=True) if key not in made]
    return notices, found.through
