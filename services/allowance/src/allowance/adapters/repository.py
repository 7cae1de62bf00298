"""The allowance service's tables (explicit SQL): grants, calls, customers waiting, horizon.
Every statement takes a whole batch."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from allowance.domain.model import Call, Grant
from pkgshared.db import lock_customers

if TYPE_CHECKING:
    from pkgshared.db import Connection


APPLY_CHANNEL = "allowance_apply"

_GRANT = (
    "grant_id, customer_id, did, assignment_id, destination_prefixes, valid_from, "
    "valid_until, granted_seconds, used_seconds, status"
)


def _grant(row: Any) -> Grant:
    return Grant(
        grant_id=row["grant_id"],
        customer_id=row["customer_id"],
        did=row["did"],
        assignment_id=row["assignment_id"],
        destination_prefixes=tuple(row["destination_prefixes"]),
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        granted_seconds=row["granted_seconds"],
        used_seconds=row["used_seconds"],
        status=row["status"],
    )


class AllowanceRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ grants
    async def add_grants(self, grants: list[Grant]) -> list[Grant]:
        """Insert grants not seen before; return those inserted (a repeat is ignored)."""
        if not grants:
            return []
        rows = await self.conn.fetch(
            f"INSERT INTO grants ({_GRANT}) "
            "SELECT g.id, g.customer, g.did, g.assignment, "
            "  string_to_array(g.prefixes, ','),"
            "  g.valid_from, g.valid_until, g.granted, 0, g.status "
            "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], "
            "$6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::text[]) "
            "AS g(id, customer, did, assignment, prefixes, valid_from, valid_until, granted, "
            "status) "
            f"ON CONFLICT DO NOTHING RETURNING {_GRANT}",
            [g.grant_id for g in grants],
            [g.customer_id for g in grants],
            [g.did for g in grants],
            [g.assignment_id for g in grants],
            [",".join(g.destination_prefixes) for g in grants],
            [g.valid_from for g in grants],
            [g.valid_until for g in grants],
            [g.granted_seconds for g in grants],
            [g.status for g in grants],
        )
        return [_grant(r) for r in rows]

    async def usable_grants(
        self, customer_ids: list[str], since: datetime, until: datetime
    ) -> dict[str, list[Grant]]:
        """The customers' grants with seconds left whose window meets [since, until]. Not
        locked: the caller holds the customers' rows, which every writer of a customer's
        grants (the workers, the expiry) locks first."""
        rows = await self.conn.fetch(
            f"SELECT {_GRANT} FROM grants WHERE customer_id = ANY($1::text[]) "
            "AND used_seconds < granted_seconds AND valid_from <= $3 AND valid_until > $2",
            customer_ids,
            since,
            until,
        )
        out: dict[str, list[Grant]] = defaultdict(list)
        for r in rows:
            out[r["customer_id"]].append(_grant(r))
        return out

    async def save_used(self, grants: list[Grant]) -> None:
        if grants:
            await self.conn.execute(
                "UPDATE grants g SET used_seconds = u.used "
                "FROM unnest($1::uuid[], $2::bigint[]) AS u(id, used) WHERE g.grant_id = u.id",
                [g.grant_id for g in grants],
                [g.used_seconds for g in grants],
            )

    async def expire(self, at: datetime) -> list[Grant]:
        """Mark expired the active grants whose window ended by `at`; return them. Their
        customers are locked first, in order, as the workers lock them."""
        customers = [
            r["customer_id"]
            for r in await self.conn.fetch(
                "SELECT DISTINCT customer_id FROM grants WHERE status = 'active' "
                "AND valid_until <= $1 ORDER BY customer_id",
                at,
            )
        ]
        if not customers:
            return []
        await self.lock_customers(customers)
        rows = await self.conn.fetch(
            "UPDATE grants SET status = 'expired' WHERE status = 'active' AND valid_until <= $1 "
            f"AND customer_id = ANY($2::text[]) RETURNING {_GRANT}",
            at,
            customers,
        )
        return [_grant(r) for r in rows]

    # ------------------------------------------------------------ calls
    async def add_calls(self, calls: list[Call], horizon: datetime | None) -> int:
        """Record calls not seen before, in order, as waiting; their customers' queue heads
        are set when they had none. When one is already settled (before `horizon`), every
        instance's worker is told on commit. Returns how many were new."""
        if not calls:
            return 0
        new = await self.conn.fetch(
            "INSERT INTO calls (usage_id, customer_id, did, destination, occurred_at, "
            "duration_seconds, amount, currency) "
            "SELECT c.id, c.customer, c.did, c.destination, c.at, c.seconds, c.amount, c.currency "
            "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], "
            "$6::int[], $7::numeric[], $8::text[]) WITH ORDINALITY "
            "AS c(id, customer, did, destination, at, seconds, amount, currency, n) "
            "ORDER BY c.n ON CONFLICT DO NOTHING RETURNING customer_id, occurred_at, seq",
            [c.usage_id for c in calls],
            [c.customer_id for c in calls],
            [c.did for c in calls],
            [c.destination for c in calls],
            [c.occurred_at for c in calls],
            [c.duration_seconds for c in calls],
            [c.amount for c in calls],
            [c.currency for c in calls],
        )
        heads: dict[str, tuple[int, datetime]] = {}
        for r in new:
            known = heads.get(r["customer_id"])
            if known is None or r["seq"] < known[0]:
                heads[r["customer_id"]] = (r["seq"], r["occurred_at"])
        customers = sorted(heads)
        await self.conn.execute(
            "INSERT INTO customers (customer_id, waiting_since) "
            "SELECT * FROM unnest($1::text[], $2::timestamptz[]) "
            # A customer already waiting keeps its head: its row is not rewritten.
            "ON CONFLICT (customer_id) DO UPDATE SET waiting_since = EXCLUDED.waiting_since "
            "WHERE customers.waiting_since IS NULL",
            customers,
            [heads[c][1] for c in customers],
        )
        if horizon is not None and any(r["occurred_at"] < horizon for r in new):
            await self.conn.execute("SELECT pg_notify($1, '')", APPLY_CHANNEL)
        return len(new)

    async def claim_waiting(self, horizon: datetime, limit: int) -> list[str]:
        """Lock up to `limit` customers whose first waiting call is settled; other workers
        skip them."""
        rows = await self.conn.fetch(
            "SELECT customer_id FROM customers WHERE waiting_since < $1 "
            "ORDER BY waiting_since LIMIT $2 FOR UPDATE SKIP LOCKED",
            horizon,
            limit,
        )
        return [r["customer_id"] for r in rows]

    async def waiting_calls(self, customer_ids: list[str], per_customer: int) -> list[Call]:
        """Up to `per_customer` + 1 waiting calls of each customer, in order (the one more
        tells where the queue stands after them)."""
        rows = await self.conn.fetch(
            "SELECT usage_id, customer_id, did, destination, occurred_at, duration_seconds, "
            "amount, currency FROM ("
            "  SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY seq) AS n "
            "  FROM calls WHERE customer_id = ANY($1::text[]) AND NOT applied"
            ") w WHERE n <= $2 ORDER BY customer_id, seq",
            customer_ids,
            per_customer + 1,
        )
        return [
            Call(
                r["usage_id"],
                r["customer_id"],
                r["did"],
                r["destination"],
                r["occurred_at"],
                r["duration_seconds"],
                r["amount"],
                r["currency"],
            )
            for r in rows
        ]

    async def mark_applied(self, usage_ids: list[UUID]) -> None:
        if usage_ids:
            await self.conn.execute(
                "UPDATE calls SET applied = true WHERE usage_id = ANY($1::uuid[])", usage_ids
            )

    async def set_heads(self, heads: dict[str, datetime | None]) -> None:
        customers = list(heads)
        await self.conn.execute(
            "UPDATE customers c SET waiting_since = h.since "
            "FROM unnest($1::text[], $2::timestamptz[]) AS h(id, since) WHERE c.customer_id = h.id",
            customers,
            [heads[c] for c in customers],
        )

    async def lock_customers(self, customer_ids: list[str]) -> None:
        """Lock (creating when new) the rows of `customer_ids`, given sorted."""
        await lock_customers(self.conn, customer_ids)

    # ------------------------------------------------------------ horizon
    async def horizon(self) -> datetime | None:
        value: datetime | None = await self.conn.fetchval(
            "SELECT settled_at FROM horizon WHERE id = 1"
        )
        return value

    async def advance_horizon(self, at: datetime, tick_id: UUID) -> bool:
        """Move the settled horizon to `at`; False when it is not later. On commit, every
        instance's worker is told (NOTIFY)."""
        row = await self.conn.fetchval(
            "INSERT INTO horizon (id, settled_at, tick_id) VALUES (1, $1, $2) "
            "ON CONFLICT (id) DO UPDATE SET settled_at = EXCLUDED.settled_at, "
            "tick_id = EXCLUDED.tick_id WHERE horizon.settled_at < EXCLUDED.settled_at "
            "RETURNING 1",
            at,
            tick_id,
        )
        if row is not None:
            await self.conn.execute("SELECT pg_notify($1, '')", APPLY_CHANNEL)
        return row is not None
