"""The holds of the catch-up limit and of charges that fail (explicit SQL; part of
charger.adapters.ledger.LedgerRepository): which assignments are held or released, holding
one that fails, releasing, and waking the released at a tick."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from charger.adapters.topups import PENDING_TOPUPS
from pkgshared.db import lock_customers

if TYPE_CHECKING:
    from pkgshared.db import Connection


class Holds:
    conn: Connection

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
        await lock_customers(self.conn, customers)
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
        await lock_customers(self.conn, [customer_id])
        row = await self.conn.fetchrow(
            "SELECT hold FROM assignments WHERE assignment_id = $1 AND customer_id = $2 FOR UPDATE",
            assignment_id,
            customer_id,
        )
        if row is None:
            return None
        return row["hold"] or "none"

    async def due_ids(self, customer_id: str, at: datetime) -> list[UUID]:
        """The ids of the customer's assignments due at `at` (plain columns: no row is decoded,
        so one that fails to decode is still found)."""
        rows = await self.conn.fetch(
            "SELECT assignment_id FROM assignments WHERE customer_id = $1 AND next_due_at <= $2 "
            "ORDER BY assignment_id",
            customer_id,
            at,
        )
        return [r["assignment_id"] for r in rows]

    async def hold_due(
        self, customer_id: str, assignment_id: UUID, at: datetime, reason: str | None = None
    ) -> tuple[str, date] | None:
        """Hold the assignment when it is due at `at` (`reason`: the ChargesHeld's, kept for
        the read API): (its package, the first period start not yet ticked, or its start
        date), None when it is not due. Reads plain columns only: its terms may be what
        fails."""
        row = await self.conn.fetchrow(
            "UPDATE assignments SET hold = 'held', next_due_at = NULL, hold_reason = $4 "
            "WHERE assignment_id = $1 AND customer_id = $2 AND next_due_at <= $3 "
            "RETURNING package_id, coalesce(ticked_through + 1, start_date) AS first",
            assignment_id,
            customer_id,
            at,
            reason,
        )
        return None if row is None else (row["package_id"], row["first"])

    async def next_due_of(self, customer_id: str) -> datetime | None:
        """The customer's next due moment as its assignments' progress and its top-ups not
        made yet make it."""
        moment: datetime | None = await self.conn.fetchval(
            "SELECT LEAST((SELECT min(next_due_at) FROM assignments WHERE customer_id = $1), "
            f"({PENDING_TOPUPS.format(c='$1')}))",
            customer_id,
        )
        return moment

    async def release(self, assignment_ids: list[UUID]) -> None:
        """Held assignments become released: the next tick accepted makes them due."""
        await self.conn.execute(
            "UPDATE assignments SET hold = 'released' "
            "WHERE assignment_id = ANY($1::uuid[]) AND hold = 'held'",
            assignment_ids,
        )
