"""In-memory stand-ins for the charger's repositories and unit of work
(charger.service_layer.ports), with the repositories' rules restated plainly: the ones the
SQL holds (which usage counts toward a minimum spend, which debits toward a spend limit)
are written out here a second time, as the contract states them."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from charger.adapters.codec import version_from_defined
from charger.adapters.events import ENCODERS, route
from charger.domain.charge_run import LedgerRow, Progress, Recorded
from charger.domain.model import Assignment, MonthTotals, PackageVersion, SpendLimit, Tracked
from charger.domain.proration import Credit, Debited
from charger.domain.topups import TopUp, TopUpOutcome, topup_of
from pkgcontract.messages import (
    GrantMinutes,
    PackageDefined,
    SpendLimitSet,
    UsageRated,
    UsageReversed,
)
from pkgshared.uow import encoded


@dataclass
class Row:
    """An assignments row: the assignment, its progress and its due moment."""

    tracked: Tracked
    due: datetime | None


@dataclass
class Customer:
    due: datetime | None = None
    limit: SpendLimit | None = None


def _earliest(*moments: datetime | None) -> datetime | None:
    """PostgreSQL's LEAST / min(): NULLs left out."""
    known = [m for m in moments if m is not None]
    return min(known) if known else None


@dataclass
class ChargerTables:
    versions: dict[str, dict[int, PackageDefined]] = field(default_factory=dict)
    assignments: dict[UUID, Row] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    usage: dict[UUID, UsageRated] = field(default_factory=dict)
    reversed_usage: dict[UUID, UUID] = field(default_factory=dict)  # usage_id -> reversal_id
    reversals_read: set[UUID] = field(default_factory=set)  # every reversal_id read
    topups: dict[UUID, tuple[TopUp, str | None]] = field(default_factory=dict)  # with status
    ledger: dict[str, LedgerRow] = field(default_factory=dict)
    credits: dict[str, Credit] = field(default_factory=dict)
    clock: tuple[datetime, UUID] | None = None
    settled: bool = False
    refused: dict[UUID, tuple[datetime, datetime]] = field(default_factory=dict)
    failing: set[UUID] = field(default_factory=set)  # assignments whose terms cannot be read
    refusing: set[str] = field(default_factory=set)  # customers whose ledger rows are refused

    def customer(self, customer_id: str) -> Customer:
        return self.customers.setdefault(customer_id, Customer())

    def pending_topup(self, customer_id: str) -> datetime | None:
        """The customer's earliest top-up not made yet (PENDING_TOPUPS)."""
        return _earliest(
            *(t.valid_from for t, status in self.topups.values() if status is None
              and t.customer_id == customer_id)
        )  # fmt: skip

    def rows_of(self, customer_ids: list[str]) -> list[Row]:
        return [
            r for r in self.assignments.values() if r.tracked.assignment.customer_id in customer_ids
        ]


class FakeProjections:
    def __init__(self, tables: ChargerTables) -> None:
        self.t = tables

    async def lock_customers(self, customer_ids: list[str]) -> None:
        for c in customer_ids:
            self.t.customer(c)

    async def lock_packages(self, package_ids: list[str]) -> None:
        pass

    async def add_version(self, defined: PackageDefined) -> None:
        self.t.versions.setdefault(defined.package_id, {}).setdefault(defined.version, defined)

    async def versions(self, package_ids: set[str]) -> dict[str, list[PackageVersion]]:
        return {
            p: [version_from_defined(d) for _, d in sorted(self.t.versions[p].items())]
            for p in package_ids
            if p in self.t.versions
        }

    async def customers_of_package(self, package_id: str) -> list[str]:
        return sorted(
            {
                r.tracked.assignment.customer_id
                for r in self.t.assignments.values()
                if r.tracked.assignment.package_id == package_id
            }
        )

    async def package_assignments(self, customer_ids: list[str], package_id: str) -> list[Tracked]:
        rows = [
            r for r in self.t.rows_of(customer_ids) if r.tracked.assignment.package_id == package_id
        ]
        return sorted((r.tracked for r in rows), key=lambda t: t.assignment.assignment_id)

    async def customers_of(self, assignment_ids: list[UUID]) -> dict[UUID, str]:
        return {
            i: self.t.assignments[i].tracked.assignment.customer_id
            for i in assignment_ids
            if i in self.t.assignments
        }

    async def tracked(self, assignment_ids: list[UUID]) -> dict[UUID, Tracked]:
        return {i: self.t.assignments[i].tracked for i in assignment_ids if i in self.t.assignments}

    async def add_assignments(self, new: list[tuple[Assignment, datetime | None]]) -> None:
        for a, due in new:
            if a.assignment_id in self.t.assignments:
                continue
            self.t.assignments[a.assignment_id] = Row(Tracked(a, None, False), due)
            customer = self.t.customer(a.customer_id)
            customer.due = _earliest(customer.due, due)

    async def save(self, changed: list[tuple[Assignment, datetime | None]]) -> None:
        for a, due in changed:
            row = self.t.assignments[a.assignment_id]
            row.tracked = dataclasses.replace(row.tracked, assignment=a)
            row.due = due

    async def set_due(self, due: dict[UUID, datetime | None]) -> None:
        for assignment_id, moment in due.items():
            self.t.assignments[assignment_id].due = moment

    async def refresh_customers(self, customer_ids: list[str]) -> None:
        for c in customer_ids:
            due = _earliest(*(r.due for r in self.t.rows_of([c])))
            self.t.customer(c).due = _earliest(due, self.t.pending_topup(c))

    async def set_spend_limit(self, e: SpendLimitSet) -> None:
        self.t.customer(e.customer_id).limit = SpendLimit(e.monthly_limit, e.currency)

    async def add_usage(self, records: list[UsageRated]) -> None:
        for u in records:
            self.t.usage.setdefault(u.usage_id, u)

    async def reverse_usage(self, reversals: list[UsageReversed]) -> None:
        for r in reversals:
            if r.reversal_id in self.t.reversals_read:
                continue  # a repeat of a reversal_id is ignored, whatever it names
            self.t.reversals_read.add(r.reversal_id)
            u = self.t.usage.get(r.usage_id)
            if u is not None and u.customer_id == r.customer_id:
                self.t.reversed_usage.setdefault(r.usage_id, r.reversal_id)


class FakeLedger:
    def __init__(self, tables: ChargerTables) -> None:
        self.t = tables

    async def lock_customer(self, customer_id: str) -> None:
        self.t.customer(customer_id)

    async def claim_due_customers(self, at: datetime, limit: int) -> list[str]:
        due = [
            (c.due, cid) for cid, c in self.t.customers.items() if c.due is not None and c.due <= at
        ]
        return [cid for _, cid in sorted(due)[:limit]]

    async def assignments_of(self, customer_ids: list[str]) -> list[Tracked]:
        return [r.tracked for r in self.t.rows_of(customer_ids)]

    async def claim_customer(self, customer_id: str, at: datetime) -> bool:
        due = self.t.customer(customer_id).due
        return due is not None and due <= at

    async def due_ids(self, customer_id: str, at: datetime) -> list[UUID]:
        rows = self.t.rows_of([customer_id])
        return sorted(
            r.tracked.assignment.assignment_id for r in rows if r.due is not None and r.due <= at
        )

    async def hold_due(
        self, customer_id: str, assignment_id: UUID, at: datetime, reason: str | None = None
    ) -> tuple[str, date] | None:
        row = self.t.assignments.get(assignment_id)
        if row is None or row.due is None or row.due > at:
            return None
        row.due = None
        row.tracked = dataclasses.replace(row.tracked, hold="held")
        t = row.tracked
        first = (
            t.ticked_through + timedelta(days=1) if t.ticked_through else t.assignment.start_date
        )
        return t.assignment.package_id, first

    async def next_due_of(self, customer_id: str) -> datetime | None:
        moments = [r.due for r in self.t.rows_of([customer_id]) if r.due is not None]
        return _earliest(min(moments, default=None), self.t.pending_topup(customer_id))

    async def due_assignments(
        self, customer_ids: list[str], at: datetime, only: frozenset[UUID] | None = None
    ) -> tuple[list[Tracked], dict[str, datetime]]:
        due: list[Tracked] = []
        later: dict[str, datetime] = {}
        for r in self.t.rows_of(customer_ids):
            if r.due is None:
                continue
            if r.due <= at and (only is None or r.tracked.assignment.assignment_id in only):
                if r.tracked.assignment.assignment_id in self.t.failing:
                    raise ValueError("the assignment's terms cannot be read")
                due.append(r.tracked)
            else:
                c = r.tracked.assignment.customer_id
                later[c] = min(later.get(c, r.due), r.due)
        return due, later

    async def set_next_due(self, due: dict[str, datetime | None]) -> None:
        for c, moment in due.items():
            self.t.customer(c).due = _earliest(moment, self.t.pending_topup(c))

    async def advance(self, progress: list[Progress]) -> None:
        for assignment_id, through, setup, due, noticed, hold in progress:
            row = self.t.assignments[assignment_id]
            t = row.tracked
            row.tracked = dataclasses.replace(
                t,
                ticked_through=through if through is not None else t.ticked_through,
                setup_done=t.setup_done or setup,
                noticed_through=noticed if noticed is not None else t.noticed_through,
                hold=hold,
            )
            row.due = due

    async def wake_released(self, at: datetime) -> int:
        woken = [
            r for r in self.t.assignments.values() if r.tracked.hold == "released" and r.due is None
        ]
        for r in woken:
            r.due = at
            customer = self.t.customer(r.tracked.assignment.customer_id)
            customer.due = _earliest(customer.due, at)
        return len(woken)

    async def hold_of(self, customer_id: str, assignment_id: UUID) -> str | None:
        row = self.t.assignments.get(assignment_id)
        if row is None or row.tracked.assignment.customer_id != customer_id:
            return None
        return row.tracked.hold or "none"

    async def release(self, assignment_ids: list[UUID]) -> None:
        for i in assignment_ids:
            row = self.t.assignments[i]
            if row.tracked.hold == "held":
                row.tracked = dataclasses.replace(row.tracked, hold="released")

    async def spend_limits(self, customer_ids: list[str]) -> dict[str, SpendLimit]:
        limits = {c: self.t.customers[c].limit for c in customer_ids if c in self.t.customers}
        return {c: limit for c, limit in limits.items() if limit is not None}

    async def month_totals(self, customer_ids: list[str]) -> dict[str, MonthTotals]:
        # docs/contract.md §5: every debit charged (not a grant, not declined or covered), in the
        # calendar month of its period_start.
        out: dict[str, MonthTotals] = {}
        for _key, customer, _a, kind, status, start, amount, currency, *_ in self.t.ledger.values():
            if customer in customer_ids and status == "charged" and kind != "grant":
                out.setdefault(customer, MonthTotals()).add(currency, start, amount)
        return out

    async def spends(
        self, periods: list[tuple[str, str | None, str, datetime, datetime]]
    ) -> list[Decimal]:
        # docs/contract.md §5: the customer's usage in the package's currency in [start, end), and
        # for a DID-level assignment its DID's only.
        return [
            sum(
                (
                    u.amount
                    for u in self.t.usage.values()
                    if u.customer_id == customer
                    and (did is None or u.did == did)
                    and u.currency == currency
                    and start <= u.occurred_at < end
                    and u.usage_id not in self.t.reversed_usage
                ),
                Decimal(0),
            )
            for customer, did, currency, start, end in periods
        ]

    async def ledger_status(self, keys: list[str]) -> dict[str, Recorded]:
        rows = (self.t.ledger[k] for k in keys if k in self.t.ledger)
        return {r.key: Recorded(r.status, r.amount, r.period_end, r.minutes) for r in rows}

    async def mark_run_charged(self, assignment_ids: list[UUID]) -> None:
        for i in assignment_ids:
            row = self.t.assignments[i]
            row.tracked = dataclasses.replace(row.tracked, run_charged=True)

    async def record(self, rows: list[LedgerRow]) -> None:
        for row in rows:
            row = LedgerRow(*row)
            assert row.key not in self.t.ledger, f"charge {row.key} recorded twice"
            if row.customer_id in self.t.refusing:  # as a CHECK constraint would
                raise ValueError(f"the ledger refuses the rows of {row.customer_id}")
            self.t.ledger[row.key] = row

    async def debits_to_credit(
        self, ends: list[tuple[str, UUID, date]]
    ) -> dict[UUID, list[Debited]]:
        out: dict[UUID, list[Debited]] = {}
        for customer_id, assignment_id, after in ends:
            out[assignment_id] = [
                Debited(
                    r.key,
                    r.period_start,
                    r.period_end,
                    r.amount,
                    r.cost,
                    r.currency,
                    r.charged_days,
                    r.package_version,
                )
                for r in sorted(self.t.ledger.values(), key=lambda r: r.period_start)
                if r.customer_id == customer_id
                and r.assignment_id == assignment_id
                and r.kind == "recurring"
                and r.status == "charged"
                and (r.period_end is None or r.period_end > after)
                and r.key not in self.t.credits
            ]
        return out

    async def record_credits(self, made: list[tuple[str, Credit]]) -> list[tuple[str, Credit]]:
        new = [(customer, c) for customer, c in made if c.debit.key not in self.t.credits]
        for _, c in new:
            self.t.credits[c.debit.key] = c
        return new


class FakeClock:
    def __init__(self, tables: ChargerTables) -> None:
        self.t = tables

    async def tick_at(self) -> datetime | None:
        return None if self.t.clock is None else self.t.clock[0]

    async def clock(self) -> tuple[datetime, UUID | None] | None:
        return self.t.clock

    async def advance_clock(self, at: datetime, tick_id: UUID) -> bool:
        if self.t.clock is not None and at <= self.t.clock[0]:
            return False
        self.t.clock, self.t.settled = (at, tick_id), False
        return True

    async def tick_to_settle(self) -> tuple[UUID, datetime] | None:
        if self.t.clock is None or self.t.settled:
            return None
        at, tick_id = self.t.clock
        busy = any(c.due is not None and c.due <= at for c in self.t.customers.values())
        return None if busy else (tick_id, at)

    async def mark_settled(self) -> None:
        self.t.settled = True

    async def refuse(self, tick_id: UUID, at: datetime, wall_clock: datetime) -> bool:
        if tick_id in self.t.refused:
            return False
        self.t.refused[tick_id] = (at, wall_clock)
        return True


class FakeTopUps:
    def __init__(self, tables: ChargerTables) -> None:
        self.t = tables

    async def add(self, cmd: GrantMinutes) -> bool:
        if cmd.topup_id in self.t.topups:
            return False
        self.t.topups[cmd.topup_id] = (topup_of(cmd), None)
        return True

    async def due_later(self, customer_id: str, valid_from: datetime) -> None:
        customer = self.t.customer(customer_id)
        customer.due = _earliest(customer.due, valid_from)

    async def due(self, customer_ids: list[str], at: datetime) -> list[TopUp]:
        return sorted(
            (t for t, status in self.t.topups.values()
             if status is None and t.customer_id in customer_ids and t.valid_from <= at),
            key=lambda t: (t.valid_from, str(t.topup_id)),
        )  # fmt: skip

    async def fail_due(self, customer_id: str, at: datetime) -> list[UUID]:
        failed = [
            t for t, status in self.t.topups.values()
            if status is None and t.customer_id == customer_id and t.valid_from <= at
        ]  # fmt: skip
        for t in failed:
            self.t.topups[t.topup_id] = (t, "failed")
        return [t.topup_id for t in failed]

    async def mark(self, made: list[tuple[TopUp, TopUpOutcome]]) -> None:
        for t, outcome in made:
            self.t.topups[t.topup_id] = (t, outcome)


@dataclass
class FakeUnitOfWork:
    """The charger's unit of work in memory. Used directly, what a handler does is kept at
    once (`emitted`); used as a context manager (as `FakeUnitsOfWork` hands it out), nothing
    is kept unless `commit()` is called: the tables are put back as they were, as a rolled
    back transaction leaves them."""

    tables: ChargerTables = field(default_factory=ChargerTables)
    emitted: list[tuple[str, str | bytes | None, str, bytes]] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    published: list[tuple[str, str | bytes | None, str, bytes]] | None = None
    _before: ChargerTables | None = None

    @property
    def projections(self) -> FakeProjections:
        return FakeProjections(self.tables)

    @property
    def ledger(self) -> FakeLedger:
        return FakeLedger(self.tables)

    @property
    def clock(self) -> FakeClock:
        return FakeClock(self.tables)

    @property
    def topups(self) -> FakeTopUps:
        return FakeTopUps(self.tables)

    def emit(self, *args: Any) -> None:
        # The service's own routes and encoders: what a handler emits is checked as the
        # bytes it gives, on the topic and under the key it goes to.
        if len(args) == 1:
            [event] = args
            topic, key = route(event)
        else:
            topic, key, event = args
        self.emitted.append((topic, key, *encoded(event, ENCODERS)))

    def note(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    async def read_positions(self, topics: tuple[str, ...]) -> dict[tuple[str, int], int]:
        return {}

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [json.loads(p) for _, _, t, p in self.emitted if t == event_type]

    async def __aenter__(self) -> FakeUnitOfWork:
        self._before = copy.deepcopy(self.tables)
        self.emitted = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._before is not None:  # not committed: rolled back
            for f in dataclasses.fields(self.tables):
                setattr(self.tables, f.name, getattr(self._before, f.name))
            self._before = None

    async def commit(self) -> None:
        self._before = None
        if self.published is not None:
            self.published += self.emitted
        self.emitted = []


@dataclass
class FakeUnitsOfWork:
    """A unit-of-work factory over one set of tables (charger.service_layer.ports.UnitsOfWork):
    each call a new transaction; `published` holds what the committed ones emitted, in order.
    A failure of the work itself (a bug, data it cannot read, a row refused) is made with
    `ChargerTables.failing` and `ChargerTables.refusing`."""

    tables: ChargerTables = field(default_factory=ChargerTables)
    published: list[tuple[str, str | bytes | None, str, bytes]] = field(default_factory=list)
    opened: int = 0

    def __call__(self) -> FakeUnitOfWork:
        self.opened += 1
        return FakeUnitOfWork(self.tables, published=self.published)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [json.loads(p) for _, _, t, p in self.published if t == event_type]
