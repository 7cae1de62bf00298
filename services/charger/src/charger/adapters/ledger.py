"""The ledger and the ticks' progress (explicit SQL): customers due, their assignments'
progress, spend limits and what counts toward them, charges recorded, holds. Hot-path reads
and writes take whole batches of customers in one round trip each."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

from charger.adapters.codec import TRACKED, tracked_from_row
from charger.adapters.holds import Holds
from charger.adapters.topups import PENDING_TOPUPS
from charger.domain.charge_run import Recorded
from charger.domain.model import MonthTotals, SpendLimit, Tracked
from charger.domain.proration import Credit, Debited
from pkgshared.db import lock_customers

if TYPE_CHECKING:
    from charger.domain.charge_run import LedgerRow, Progress
    from pkgshared.db import Connection


MINIMUM_SPEND_USAGE = (
    "u.customer_id = p.customer AND (p.did IS NULL OR u.did = p.did) "
    "AND u.currency = p.currency AND u.occurred_at >= p.start AND u.occurred_at < p.stop "
    "AND u.reversed_by IS NULL"
)
"""docs/contract.md §5, minimum spend: the usage `u` that counts toward period `p` of an assignment
is the customer's, in the package's currency, that occurred in [start, end) of the period,
and, for a DID-level assignment, from that DID only; a record reversed (UsageReversed) no
longer counts. The one place that says so (in SQL, so a
batch of periods is summed in one statement)."""


LEDGER_COLUMNS = [
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
    "period_end",
    "charged_days",
    "period_days",
    "cost",
    "package_version",
    "topup_id",
]
"""The ledger's columns in LedgerRow's order."""


class LedgerRepository(Holds):
    """Customers due and the ticks' progress, spend limits and spends, the ledger and credits;
    the holds of the catch-up limit come from `Holds`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def lock_customer(self, customer_id: str) -> None:
        await lock_customers(self.conn, [customer_id])

    async def claim_due_customers(self, at: datetime, limit: int) -> list[str]:
        """Lock up to `limit` customers with something due at `at`; others' workers skip them."""
        rows = await self.conn.fetch(
            "SELECT customer_id FROM customers WHERE next_due_at <= $1 "
            "ORDER BY next_due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            at,
            limit,
        )
        return [r["customer_id"] for r in rows]

    async def assignments_of(self, customer_ids: list[str]) -> list[Tracked]:
        rows = await self.conn.fetch(
            f"SELECT {TRACKED} FROM assignments WHERE customer_id = ANY($1::text[])",
            customer_ids,
        )
        return [tracked_from_row(r) for r in rows]

    async def claim_customer(self, customer_id: str, at: datetime) -> bool:
        """Lock `customer_id` when it has something due at `at` and no other worker has it."""
        row = await self.conn.fetchval(
            "SELECT 1 FROM customers WHERE customer_id = $1 AND next_due_at <= $2 "
            "FOR UPDATE SKIP LOCKED",
            customer_id,
            at,
        )
        return row is not None

    async def due_assignments(
        self, customer_ids: list[str], at: datetime, only: frozenset[UUID] | None = None
    ) -> tuple[list[Tracked], dict[str, datetime]]:
        """The assignments of `customer_ids` with a charge due by `at` (of `only`, when
        given), and for each customer the earliest due moment of the others (those with
        one): what the customer's next due moment is made of once the due ones are
        charged."""
        rows = await self.conn.fetch(
            f"SELECT {TRACKED}, next_due_at, next_due_at <= $2 AS due FROM assignments "
            "WHERE customer_id = ANY($1::text[]) AND next_due_at IS NOT NULL",
            customer_ids,
            at,
        )
        due: list[Tracked] = []
        later: dict[str, datetime] = {}
        for r in rows:
            if r["due"] and (only is None or r["assignment_id"] in only):
                due.append(tracked_from_row(r))
            else:  # not due, or due and left for later (not of `only`)
                customer, moment = r["customer_id"], r["next_due_at"]
                if customer not in later or moment < later[customer]:
                    later[customer] = moment
        return due, later

    async def set_next_due(self, due: dict[str, datetime | None]) -> None:
        """Customers' next due moments, worked out by the caller (rows already there), or
        their next top-up's when that is earlier."""
        customers = list(due)
        pending = PENDING_TOPUPS.format(c="c.customer_id")
        await self.conn.execute(
            f"UPDATE customers c SET next_due_at = LEAST(p.due, ({pending})) "
            "FROM unnest($1::text[], $2::timestamptz[]) AS p(id, due) WHERE c.customer_id = p.id",
            customers,
            [due[c] for c in customers],
        )

    async def advance(self, progress: list[Progress]) -> None:
        """Save each assignment's tick progress, notices, hold and next due moment."""
        if progress:
            columns = (list(c) for c in zip(*progress, strict=True))
            await self.conn.execute(
                "UPDATE assignments a SET ticked_through = coalesce(p.through, a.ticked_through),"
                " setup_done = a.setup_done OR p.setup, next_due_at = p.due,"
                " noticed_through = coalesce(p.noticed, a.noticed_through), hold = p.hold,"
                " hold_reason = CASE WHEN p.hold IS NULL THEN NULL"
                " WHEN p.hold = 'held' AND a.hold IS DISTINCT FROM 'held' THEN 'catch_up_limit'"
                " ELSE a.hold_reason END "
                "FROM unnest($1::uuid[], $2::date[], $3::bool[], $4::timestamptz[], $5::date[], "
                "$6::text[]) AS p(id, through, setup, due, noticed, hold) "
                "WHERE a.assignment_id = p.id",
                *columns,
            )

    # ------------------------------------------------------------ spend limits and spends
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

    # ------------------------------------------------------------ the ledger
    async def ledger_status(self, keys: list[str]) -> dict[str, Recorded]:
        """The charges of `keys` already recorded, as they were made."""
        rows = await self.conn.fetch(
            "SELECT charge_key, status, amount, period_end, minutes FROM ledger "
            "WHERE charge_key = ANY($1::text[])",
            keys,
        )
        return {
            r["charge_key"]: Recorded(r["status"], r["amount"], r["period_end"], r["minutes"])
            for r in rows
        }

    async def mark_run_charged(self, assignment_ids: list[UUID]) -> None:
        await self.conn.execute(
            "UPDATE assignments SET run_charged = true "
            "WHERE assignment_id = ANY($1::uuid[]) AND NOT run_charged",
            assignment_ids,
        )

    async def record(self, rows: list[LedgerRow]) -> None:
        """Ledger rows (LedgerRow's fields, in its order). A key already there is a bug
        upstream: it fails loudly."""
        if rows:
            await self.conn.copy_records_to_table("ledger", records=rows, columns=LEDGER_COLUMNS)

    # ------------------------------------------------------------ credits (docs/contract.md §7)
    async def debits_to_credit(
        self, ends: list[tuple[str, UUID, date]]
    ) -> dict[UUID, list[Debited]]:
        """For each (customer, assignment, after): the assignment's recurring debits made that
        end after `after` (or whose end was not kept) and have no credit yet, in period
        order; one statement for them all, through the customer's index."""
        if not ends:
            return {}
        customers, assignments, afters = (list(c) for c in zip(*ends, strict=True))
        rows = await self.conn.fetch(
            "SELECT l.assignment_id, l.charge_key, l.period_start, l.period_end, l.amount, "
            "l.cost, l.currency, l.charged_days, l.package_version "
            "FROM unnest($1::text[], $2::uuid[], $3::date[]) AS e(customer, assignment, after) "
            "JOIN ledger l ON l.customer_id = e.customer AND l.assignment_id = e.assignment "
            "WHERE l.kind = 'recurring' AND l.status = 'charged' "
            "AND (l.period_end IS NULL OR l.period_end > e.after) "
            "AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.debit_key = l.charge_key) "
            "ORDER BY l.assignment_id, l.period_start",
            customers,
            assignments,
            afters,
        )
        out: dict[UUID, list[Debited]] = defaultdict(list)
        for r in rows:
            out[r["assignment_id"]].append(
                Debited(
                    key=r["charge_key"],
                    period_start=r["period_start"],
                    period_end=r["period_end"],
                    amount=r["amount"],
                    cost=r["cost"],
                    currency=r["currency"],
                    charged_days=r["charged_days"],
                    package_version=r["package_version"],
                )
            )
        return out

    async def record_credits(self, made: list[tuple[str, Credit]]) -> list[tuple[str, Credit]]:
        """Keep `made` ((customer, credit) pairs; a period is credited once: one already kept
        is left out); the credits kept now."""
        if not made:
            return []
        kept = await self.conn.fetch(
            "INSERT INTO credits (debit_key, customer_id, amount, currency, credited_from, "
            "credited_days) SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], "
            "$4::text[], $5::date[], $6::int[]) ON CONFLICT DO NOTHING RETURNING debit_key",
            [c.debit.key for _, c in made],
            [customer for customer, _ in made],
            [c.amount for _, c in made],
            [c.debit.currency for _, c in made],
            [c.credited_from for _, c in made],
            [c.credited_days for _, c in made],
        )
        new = {r["debit_key"] for r in kept}
        return [(customer, c) for customer, c in made if c.debit.key in new]
