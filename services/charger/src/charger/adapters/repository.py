"""The charger's tables (explicit SQL): projections, customers to charge, the ledger, the clock.
Hot-path reads and writes take whole batches of customers in one round trip each."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from charger.adapters.codec import (
    COLUMN_NAMES,
    COLUMNS,
    assignment_columns,
    assignment_from_row,
    version_from_defined,
)
from charger.domain.model import Assignment, MonthTotals, PackageVersion, SpendLimit, Terms
from charger.domain.notices import wake_at
from pkgshared.db import lock_customers
from pkgshared.messages import (
    AssignmentChanged,
    AssignmentEnded,
    PackageAssigned,
    PackageDefined,
    SpendLimitSet,
    UsageRated,
)
from pkgshared.messages.versions import to_current

if TYPE_CHECKING:
    from pkgshared.db import Connection


TICK_CHANNEL = "charger_tick"
REFRESH_CHUNK = 1000  # customers per round of a package's refresh


@dataclasses.dataclass
class Tracked:
    """An assignment with the ticks' progress through it."""

    assignment: Assignment
    ticked_through: date | None
    setup_done: bool
    run_charged: bool = False  # RunPackage recorded charges of it (the ledger may be ahead)
    noticed_through: date | None = None  # last period whose notice was considered
    hold: str | None = None  # None, "held" or "released" (CONTRACT.md §4 ChargesHeld)


TRACKED = f"{COLUMNS}, ticked_through, setup_done, run_charged, noticed_through, hold"
"""The assignments columns a Tracked is made of (`tracked_from_row`)."""


def tracked_from_row(row: Any) -> Tracked:
    return Tracked(
        assignment_from_row(row),
        row["ticked_through"],
        row["setup_done"],
        row["run_charged"],
        row["noticed_through"],
        row["hold"],
    )


Progress = tuple[UUID, date | None, bool, datetime | None, date | None, str | None]
"""What a tick's planning leaves on an assignment: (assignment_id, ticked_through, setup_done,
next_due_at, noticed_through, hold). A plain tuple: a million are made per big tick."""


MINIMUM_SPEND_USAGE = (
    "u.customer_id = p.customer AND (p.did IS NULL OR u.did = p.did) "
    "AND u.currency = p.currency AND u.occurred_at >= p.start AND u.occurred_at < p.stop"
)
"""CONTRACT.md §5, minimum spend: the usage `u` that counts toward period `p` of an assignment
is the customer's, in the package's currency, that occurred in [start, end) of the period,
and, for a DID-level assignment, from that DID only. The one place that says so (in SQL, so a
batch of periods is summed in one statement)."""


class ChargerRepository:
    def __init__(self, conn: Connection, notice_days: int = 0) -> None:
        self.conn = conn
        self.notice_days = notice_days  # the charger's default (CHARGE_NOTICE_DAYS)

    def wake_at(
        self,
        a: Assignment,
        versions: list[PackageVersion],
        through: date | None,
        setup_done: bool,
        noticed_through: date | None,
    ) -> datetime | None:
        """When the workers must next look at an assignment: its next charge or notice."""
        return wake_at(a, versions, through, setup_done, noticed_through, self.notice_days)

    # ------------------------------------------------------------ catalog
    async def _lock_package(self, package_id: str) -> None:
        # An assignment and its package's first version may be projected at the same moment by
        # two consumers; each would miss the other's uncommitted row. Serialize them per package.
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext('pkg:' || $1))", package_id)

    async def add_version(self, defined: PackageDefined) -> None:
        await self._lock_package(defined.package_id)
        await self.conn.execute(
            "INSERT INTO package_versions (package_id, version, effective_from, definition) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            defined.package_id,
            defined.version,
            defined.effective_from,
            defined.model_dump_json(),
        )
        # A version may change when an assignment's next charge falls due (e.g. a setup fee).
        # Refreshed a chunk of customers at a time, in the customers' lock order: a package
        # with a million assignments takes a few round trips per thousand, not eight each.
        package_id = defined.package_id
        customers = [
            r["customer_id"]
            for r in await self.conn.fetch(
                "SELECT DISTINCT customer_id FROM assignments WHERE package_id = $1 "
                "ORDER BY customer_id",
                package_id,
            )
        ]
        versions = (await self.versions({package_id})).get(package_id, [])
        for start in range(0, len(customers), REFRESH_CHUNK):
            chunk = customers[start : start + REFRESH_CHUNK]
            await self.conn.execute(
                "SELECT 1 FROM customers WHERE customer_id = ANY($1::text[]) "
                "ORDER BY customer_id FOR UPDATE",
                chunk,
            )
            rows = await self.conn.fetch(
                f"SELECT {TRACKED} FROM assignments "
                "WHERE customer_id = ANY($1::text[]) AND package_id = $2 "
                "ORDER BY assignment_id FOR UPDATE",
                chunk,
                package_id,
            )
            due = [
                None  # held: nothing falls due until released
                if t.hold is not None
                else self.wake_at(
                    t.assignment, versions, t.ticked_through, t.setup_done, t.noticed_through
                )
                for t in map(tracked_from_row, rows)
            ]
            await self.conn.execute(
                "UPDATE assignments a SET next_due_at = p.due "
                "FROM unnest($1::uuid[], $2::timestamptz[]) AS p(id, due) "
                "WHERE a.assignment_id = p.id",
                [r["assignment_id"] for r in rows],
                due,
            )
            await self.refresh_customers(chunk)

    async def versions(self, package_ids: set[str]) -> dict[str, list[PackageVersion]]:
        rows = await self.conn.fetch(
            "SELECT definition FROM package_versions WHERE package_id = ANY($1::text[]) "
            "ORDER BY package_id, version",
            list(package_ids),
        )
        out: dict[str, list[PackageVersion]] = defaultdict(list)
        for r in rows:
            # Stored as published: an older version is read through the same converters.
            stored = to_current(json.loads(r["definition"]))
            v = version_from_defined(PackageDefined.model_validate(stored))
            out[v.package_id].append(v)
        return out

    # ------------------------------------------------------------ assignments
    async def apply_assigned(self, e: PackageAssigned) -> None:
        await self.apply_assigned_many([e])

    async def apply_assigned_many(self, events: list[PackageAssigned]) -> None:
        """Project a run of PackageAssigned in a handful of statements whatever their
        number: customers locked (in id order, as every writer locks them) and package versions
        read once, rows inserted from arrays, customers' due moments moved earlier."""
        customers = sorted({e.customer_id for e in events})
        packages = sorted({e.package_id for e in events})
        await self.lock_customers(customers)
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('pkg:' || p)) "
            "FROM unnest($1::text[]) AS p ORDER BY p",
            packages,
        )
        versions = await self.versions(set(packages))
        rows = []
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
            due = self.wake_at(assignment, versions.get(e.package_id, []), None, False, None)
            rows.append((*assignment_columns(assignment), due))
        columns = list(zip(*rows, strict=True))
        inserted = await self.conn.fetch(
            f"INSERT INTO assignments ({COLUMNS}, next_due_at) "
            "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::date[], "
            "$6::date[], $7::text[], $8::text[], $9::timestamptz[]) "
            "ON CONFLICT DO NOTHING RETURNING customer_id, next_due_at",
            *(list(c) for c in columns),
        )
        earliest: dict[str, datetime] = {}
        for r in inserted:
            due = r["next_due_at"]
            if due is not None and (
                r["customer_id"] not in earliest or due < earliest[r["customer_id"]]
            ):
                earliest[r["customer_id"]] = due
        if earliest:
            ids = sorted(earliest)
            await self.conn.execute(
                "UPDATE customers c SET next_due_at = LEAST(c.next_due_at, p.due) "
                "FROM unnest($1::text[], $2::timestamptz[]) AS p(id, due) "
                "WHERE c.customer_id = p.id",
                ids,
                [earliest[c] for c in ids],
            )

    async def lock_customers(self, customer_ids: list[str]) -> None:
        """Lock (creating when new) the rows of `customer_ids`, given sorted."""
        await lock_customers(self.conn, customer_ids)

    async def apply_changed(self, e: AssignmentChanged) -> None:
        await self.lock_customer(e.customer_id)
        tracked = await self._tracked(e.assignment_id)
        if tracked is None:
            return
        a = tracked.assignment
        terms = Terms(e.effective_from, e.quantity, e.auto_decrement_credit, e.free_minutes)
        await self._save(dataclasses.replace(a, end_date=e.end_date, terms=(*a.terms, terms)))

    async def apply_ended(self, e: AssignmentEnded) -> None:
        await self.lock_customer(e.customer_id)
        tracked = await self._tracked(e.assignment_id)
        if tracked is not None:
            await self._save(dataclasses.replace(tracked.assignment, end_date=e.end_date))

    async def _tracked(self, assignment_id: UUID) -> Tracked | None:
        row = await self.conn.fetchrow(
            f"SELECT {TRACKED} FROM assignments WHERE assignment_id = $1 FOR UPDATE",
            assignment_id,
        )
        return None if row is None else tracked_from_row(row)

    async def _save(self, a: Assignment) -> None:
        await self.conn.execute(
            "UPDATE assignments SET did = $2, package_id = $3, start_date = $4, end_date = $5, "
            "timezone = $6, terms = $7 WHERE assignment_id = $1",
            a.assignment_id,
            *assignment_columns(a)[2:],
        )
        await self._refresh_due(a.assignment_id)

    async def _refresh_due(self, assignment_id: UUID) -> None:
        # Customer first, then the assignment: the order the tick workers lock them in.
        customer = await self.conn.fetchval(
            "SELECT customer_id FROM assignments WHERE assignment_id = $1", assignment_id
        )
        if customer is None:
            return
        await self.lock_customer(customer)
        tracked = await self._tracked(assignment_id)
        if tracked is None:
            return
        a = tracked.assignment
        versions = (await self.versions({a.package_id})).get(a.package_id, [])
        due = (
            None  # held: nothing falls due until released
            if tracked.hold is not None
            else self.wake_at(
                a, versions, tracked.ticked_through, tracked.setup_done, tracked.noticed_through
            )
        )
        await self.conn.execute(
            "UPDATE assignments SET next_due_at = $2 WHERE assignment_id = $1", assignment_id, due
        )
        await self.refresh_customers([a.customer_id])

    async def refresh_customers(self, customer_ids: list[str]) -> None:
        await self.conn.execute(
            "INSERT INTO customers (customer_id, next_due_at) "
            "SELECT c, (SELECT min(next_due_at) FROM assignments WHERE customer_id = c) "
            "FROM unnest($1::text[]) AS c "
            "ON CONFLICT (customer_id) DO UPDATE SET next_due_at = EXCLUDED.next_due_at",
            customer_ids,
        )

    async def set_spend_limit(self, e: SpendLimitSet) -> None:
        await self.conn.execute(
            "INSERT INTO customers (customer_id, monthly_limit, limit_currency) "
            "VALUES ($1, $2, $3) ON CONFLICT (customer_id) DO UPDATE SET "
            "monthly_limit = EXCLUDED.monthly_limit, limit_currency = EXCLUDED.limit_currency",
            e.customer_id,
            e.monthly_limit,
            e.currency,
        )

    async def add_usage(self, records: list[UsageRated]) -> None:
        """Usage records, a whole batch in one statement; a repeated usage_id is ignored."""
        if not records:
            return
        await self.conn.execute(
            "INSERT INTO usage (usage_id, customer_id, did, amount, currency, occurred_at) "
            "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::numeric[], "
            "$5::text[], $6::timestamptz[]) ON CONFLICT DO NOTHING",
            [e.usage_id for e in records],
            [e.customer_id for e in records],
            [e.did for e in records],
            [e.amount for e in records],
            [e.currency for e in records],
            [e.occurred_at for e in records],
        )

    # ------------------------------------------------------------ clock
    async def tick_at(self) -> datetime | None:
        value: datetime | None = await self.conn.fetchval("SELECT tick_at FROM clock WHERE id = 1")
        return value

    async def clock(self) -> tuple[datetime, UUID | None] | None:
        """The latest tick accepted: its `at` and tick_id."""
        row = await self.conn.fetchrow("SELECT tick_at, tick_id FROM clock WHERE id = 1")
        return None if row is None else (row["tick_at"], row["tick_id"])

    async def wake_released(self, at: datetime) -> int:
        """Make the released assignments due at `at` (a tick just accepted), so the workers
        charge them; how many there were."""
        customers = [
            r["customer_id"]
            for r in await self.conn.fetch(
                "SELECT DISTINCT customer_id FROM assignments "
                "WHERE hold = 'released' AND next_due_at IS NULL ORDER BY customer_id"
            )
        ]
        if not customers:
            return 0
        await self.lock_customers(customers)
        woken = await self.conn.fetch(
            "UPDATE assignments SET next_due_at = $1 WHERE hold = 'released' "
            "AND next_due_at IS NULL AND customer_id = ANY($2::text[]) RETURNING customer_id",
            at,
            customers,
        )
        await self.conn.execute(
            "UPDATE customers SET next_due_at = LEAST(next_due_at, $1) "
            "WHERE customer_id = ANY($2::text[])",
            at,
            customers,
        )
        return len(woken)

    async def hold_of(self, customer_id: str, assignment_id: UUID) -> str | None:
        """The assignment's hold state ("none" when not held), None when the customer has no
        such assignment. The customer is locked first, as every writer locks it."""
        await self.lock_customer(customer_id)
        row = await self.conn.fetchrow(
            "SELECT hold FROM assignments WHERE assignment_id = $1 AND customer_id = $2 FOR UPDATE",
            assignment_id,
            customer_id,
        )
        if row is None:
            return None
        return row["hold"] or "none"

    async def release(self, assignment_ids: list[UUID]) -> None:
        """Held assignments become released: the next tick accepted makes them due."""
        await self.conn.execute(
            "UPDATE assignments SET hold = 'released' "
            "WHERE assignment_id = ANY($1::uuid[]) AND hold = 'held'",
            assignment_ids,
        )

    async def advance_clock(self, at: datetime, tick_id: UUID) -> bool:
        """Accept a tick; False when it is not later than the latest one. On commit, every
        instance's worker is told (NOTIFY), so they all start on it at once."""
        row = await self.conn.fetchval(
            "INSERT INTO clock (id, tick_at, tick_id, settled) VALUES (1, $1, $2, false) "
            "ON CONFLICT (id) DO UPDATE SET tick_at = EXCLUDED.tick_at, "
            "tick_id = EXCLUDED.tick_id, settled = false "
            "WHERE clock.tick_at < EXCLUDED.tick_at RETURNING 1",
            at,
            tick_id,
        )
        if row is not None:
            await self.conn.execute("SELECT pg_notify($1, '')", TICK_CHANNEL)
        return row is not None

    async def tick_to_settle(self) -> tuple[UUID, datetime] | None:
        """The accepted tick, when nothing it made due is left to charge and ChargesSettled
        has not been written for it; the clock stays locked until commit, so two workers
        cannot both write it."""
        row = await self.conn.fetchrow(
            "SELECT tick_id, tick_at FROM clock WHERE id = 1 AND NOT settled FOR UPDATE"
        )
        if row is None or row["tick_id"] is None:
            return None
        # Customers another worker is charging still show their old due moment here: this
        # worker leaves the settling to that one.
        busy = await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM customers WHERE next_due_at <= $1)", row["tick_at"]
        )
        return None if busy else (row["tick_id"], row["tick_at"])

    async def mark_settled(self) -> None:
        await self.conn.execute("UPDATE clock SET settled = true WHERE id = 1")

    # ------------------------------------------------------------ charging
    async def claim_due_customers(self, at: datetime, limit: int) -> list[str]:
        """Lock up to `limit` customers with something due at `at`; others' workers skip them."""
        rows = await self.conn.fetch(
            "SELECT customer_id FROM customers WHERE next_due_at <= $1 "
            "ORDER BY next_due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            at,
            limit,
        )
        return [r["customer_id"] for r in rows]

    async def lock_customer(self, customer_id: str) -> None:
        await lock_customers(self.conn, [customer_id])

    async def assignments_of(self, customer_ids: list[str]) -> list[Tracked]:
        rows = await self.conn.fetch(
            f"SELECT {TRACKED} FROM assignments WHERE customer_id = ANY($1::text[])",
            customer_ids,
        )
        return [tracked_from_row(r) for r in rows]

    async def due_assignments(
        self, customer_ids: list[str], at: datetime
    ) -> tuple[list[Tracked], dict[str, datetime]]:
        """The assignments of `customer_ids` with a charge due by `at`, and for each customer
        the earliest due moment of the others (those with one): what the customer's next due
        moment is made of once the due ones are charged."""
        rows = await self.conn.fetch(
            f"SELECT {TRACKED}, next_due_at, next_due_at <= $2 AS due FROM assignments "
            "WHERE customer_id = ANY($1::text[]) AND next_due_at IS NOT NULL",
            customer_ids,
            at,
        )
        due: list[Tracked] = []
        later: dict[str, datetime] = {}
        for r in rows:
            if r["due"]:
                due.append(tracked_from_row(r))
            else:
                customer, moment = r["customer_id"], r["next_due_at"]
                if customer not in later or moment < later[customer]:
                    later[customer] = moment
        return due, later

    async def set_next_due(self, due: dict[str, datetime | None]) -> None:
        """Customers' next due moments, worked out by the caller (rows already there)."""
        customers = list(due)
        await self.conn.execute(
            "UPDATE customers c SET next_due_at = p.due "
            "FROM unnest($1::text[], $2::timestamptz[]) AS p(id, due) WHERE c.customer_id = p.id",
            customers,
            [due[c] for c in customers],
        )

    async def spend_limits(self, customer_ids: list[str]) -> dict[str, SpendLimit]:
        rows = await self.conn.fetch(
            "SELECT customer_id, monthly_limit, limit_currency FROM customers "
            "WHERE customer_id = ANY($1::text[]) AND limit_currency IS NOT NULL",
            customer_ids,
        )
        return {r["customer_id"]: SpendLimit(r["monthly_limit"], r["limit_currency"]) for r in rows}

    async def month_totals(self, customer_ids: list[str]) -> dict[str, MonthTotals]:
        """What each customer's spend limit counts, per currency and month (the rule is the
        view spend_limit_debits, migration 0009)."""
        rows = await self.conn.fetch(
            "SELECT customer_id, currency, month, sum(amount) AS total FROM spend_limit_debits "
            "WHERE customer_id = ANY($1::text[]) GROUP BY 1, 2, 3",
            customer_ids,
        )
        out: dict[str, MonthTotals] = defaultdict(MonthTotals)
        for r in rows:
            out[r["customer_id"]].add(r["currency"], r["month"], r["total"])
        return out

    async def mark_run_charged(self, assignment_ids: list[UUID]) -> None:
        await self.conn.execute(
            "UPDATE assignments SET run_charged = true "
            "WHERE assignment_id = ANY($1::uuid[]) AND NOT run_charged",
            assignment_ids,
        )

    async def ledger_status(self, keys: list[str]) -> dict[str, tuple[str, Decimal | None]]:
        rows = await self.conn.fetch(
            "SELECT charge_key, status, amount FROM ledger WHERE charge_key = ANY($1::text[])",
            keys,
        )
        return {r["charge_key"]: (r["status"], r["amount"]) for r in rows}

    async def spends(
        self, periods: list[tuple[str, str | None, str, datetime, datetime]]
    ) -> list[Decimal]:
        """The usage spend of each (customer, did or None for all, currency, start, end), in
        one round trip for a whole batch, by MINIMUM_SPEND_USAGE."""
        if not periods:
            return []
        customers, dids, currencies, starts, ends = (list(c) for c in zip(*periods, strict=True))
        rows = await self.conn.fetch(
            "SELECT p.n, coalesce(sum(u.amount), 0) AS total "
            "FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], "
            "$5::timestamptz[]) WITH ORDINALITY AS p(customer, did, currency, start, stop, n) "
            f"LEFT JOIN usage u ON {MINIMUM_SPEND_USAGE} "
            "GROUP BY p.n ORDER BY p.n",
            customers,
            dids,
            currencies,
            starts,
            ends,
        )
        return [Decimal(r["total"]) for r in rows]

    # ------------------------------------------------------------ bulk seeding
    async def copy_versions(self, defined: list[PackageDefined]) -> None:
        """Package versions by COPY, stored as the projection stores them (for seeding a
        schema in bulk: the benchmarks)."""
        await self.conn.copy_records_to_table(
            "package_versions",
            records=[
                (d.package_id, d.version, d.effective_from, d.model_dump_json()) for d in defined
            ],
            columns=["package_id", "version", "effective_from", "definition"],
        )

    async def copy_assignments(self, assignments: list[tuple[Assignment, datetime | None]]) -> None:
        """Assignments new to the schema with their next due moments, and their customers
        (one each, new too), by COPY: what the projection would have stored, written at
        COPY's speed (for seeding a schema in bulk: the benchmarks)."""
        if not assignments:
            return
        await self.conn.copy_records_to_table(
            "assignments",
            records=[(*assignment_columns(a), due) for a, due in assignments],
            columns=[*COLUMN_NAMES, "next_due_at"],
        )
        await self.conn.copy_records_to_table(
            "customers",
            records=[(a.customer_id, due) for a, due in assignments],
            columns=["customer_id", "next_due_at"],
        )

    async def record(self, rows: list[tuple[Any, ...]]) -> None:
        """Ledger rows: (key, customer, assignment, kind, status, period_start, amount,
        currency, minutes, reason). A key already there is a bug upstream: it fails loudly."""
        if rows:
            await self.conn.copy_records_to_table(
                "ledger",
                records=rows,
                columns=[
                    "charge_key",
                    "customer_id",
                    "assignment_id",
                    "kind",
                    "status",
                    "period_start",
                    "amount",
                    "currency",
                    "minutes",
                    "reason",
                ],
            )

    async def advance(self, progress: list[Progress]) -> None:
        """Save each assignment's tick progress, notices, hold and next due moment."""
        if progress:
            columns = (list(c) for c in zip(*progress, strict=True))
            await self.conn.execute(
                "UPDATE assignments a SET ticked_through = coalesce(p.through, a.ticked_through),"
                " setup_done = a.setup_done OR p.setup, next_due_at = p.due,"
                " noticed_through = coalesce(p.noticed, a.noticed_through), hold = p.hold "
                "FROM unnest($1::uuid[], $2::date[], $3::bool[], $4::timestamptz[], $5::date[], "
                "$6::text[]) AS p(id, through, setup, due, noticed, hold) "
                "WHERE a.assignment_id = p.id",
                *columns,
            )
