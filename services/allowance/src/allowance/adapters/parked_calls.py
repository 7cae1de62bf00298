"""Calls parked until the horizon settles them, and where each partition of usage.rated is read
again from, whose rows are also the partitions' fence: an instance applies the calls of the
partitions it holds with their rows locked (explicit SQL; part of
allowance.adapters.repository.AllowanceRepository)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from allowance.domain.model import Call
from allowance.domain.reversal import Reversal

if TYPE_CHECKING:
    from pkgshared.db import Connection

PARKED_BEFORE_ANALYZE = 1000
"""Calls parked at once that refresh the parked table's statistics (`park`)."""


class ParkedCalls:
    conn: Connection

    async def park(self, calls: list[Call | Reversal], partitions: dict[str, int]) -> None:
        """Park `calls` (each customer's in its order; a reversal waits among them as read,
        its row naming the call it takes back and itself), after those of their customers
        parked before; `partitions`: the partition of usage.rated each customer's calls are
        read from. Parking PARKED_BEFORE_ANALYZE or more refreshes the table's statistics
        in the same transaction (which counts its own rows): the table is empty for months and
        then fills in seconds, and the lookups planned on an empty table's statistics scanned
        it once per customer (9.5 s a transaction of 10,000 calls, 0.04 s once analyzed)."""
        if calls:
            await self.conn.execute(
                "INSERT INTO parked_calls (usage_id, customer_id, did, destination, "
                "occurred_at, duration_seconds, amount, currency, partition, reversal_id) "
                "SELECT u, c, d, dest, at, secs, amount, cur, part, rev FROM unnest($1::uuid[], "
                "$2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[], "
                "$7::numeric[], $8::text[], $9::int[], $10::uuid[]) "
                "WITH ORDINALITY AS p(u, c, d, dest, at, secs, amount, cur, part, rev, n) "
                "ORDER BY n",
                [c.usage_id for c in calls],
                [c.customer_id for c in calls],
                [_call(c, "did") for c in calls],
                [_call(c, "destination") for c in calls],
                [c.occurred_at for c in calls],
                [_call(c, "duration_seconds") for c in calls],
                [_call(c, "amount") for c in calls],
                [_call(c, "currency") for c in calls],
                [partitions.get(c.customer_id) for c in calls],
                [c.reversal_id if isinstance(c, Reversal) else None for c in calls],
            )
        if len(calls) >= PARKED_BEFORE_ANALYZE:
            await self.conn.execute("ANALYZE parked_calls")

    async def parked_among(self, customer_ids: list[str]) -> set[str]:
        """Those of `customer_ids` with calls parked."""
        if not customer_ids:
            return set()
        rows = await self.conn.fetch(
            "SELECT DISTINCT customer_id FROM parked_calls WHERE customer_id = ANY($1::text[])",
            customer_ids,
        )
        return {r["customer_id"] for r in rows}

    async def parked_settling(
        self, horizon: datetime, most: int, partitions: list[int]
    ) -> list[str]:
        """Customers (at most `most`) of `partitions` whose first parked call is before
        `horizon`: theirs may be applied (the caller holds those partitions). Each parked
        customer is visited once through the index (a skip scan), not each parked call: a
        customer may have millions behind a call dated years ahead."""
        rows = await self.conn.fetch(
            "WITH RECURSIVE parked AS ("
            "  (SELECT customer_id FROM parked_calls ORDER BY customer_id LIMIT 1) "
            "  UNION ALL "
            "  SELECT (SELECT q.customer_id FROM parked_calls q "
            "          WHERE q.customer_id > parked.customer_id ORDER BY q.customer_id LIMIT 1) "
            "  FROM parked WHERE parked.customer_id IS NOT NULL) "
            "SELECT parked.customer_id FROM parked CROSS JOIN LATERAL ("
            "  SELECT h.occurred_at FROM parked_calls h WHERE h.customer_id = parked.customer_id "
            "  AND (h.partition IS NULL OR h.partition = ANY($3::int[])) "
            "  ORDER BY h.seq LIMIT 1) AS head "
            "WHERE head.occurred_at < $1 LIMIT $2",
            horizon,
            most,
            partitions,
        )
        return [r["customer_id"] for r in rows]

    async def parked_settled(
        self, customer_ids: list[str], horizon: datetime, most: int
    ) -> list[tuple[int, Call | Reversal]]:
        """The parked calls (and reversals) of `customer_ids` that may be applied, in the order
        parked: each customer's up to its first call at or after `horizon`; at most `most`.
        The caller holds the customers' partitions."""
        if not customer_ids:
            return []
        # Each customer's first call not settled is found through the index, in order.
        rows = await self.conn.fetch(
            "SELECT p.seq, p.usage_id, p.customer_id, p.did, p.destination, p.occurred_at, "
            "p.duration_seconds, p.amount, p.currency, p.reversal_id "
            "FROM unnest($1::text[]) AS c(customer_id) "
            "LEFT JOIN LATERAL ("
            "  SELECT q.seq FROM parked_calls q WHERE q.customer_id = c.customer_id "
            "  AND q.occurred_at >= $2 ORDER BY q.seq LIMIT 1) AS stop ON true "
            "JOIN parked_calls p ON p.customer_id = c.customer_id "
            "AND (stop.seq IS NULL OR p.seq < stop.seq) "
            "ORDER BY p.seq LIMIT $3",
            customer_ids,
            horizon,
            most,
        )
        return [(r["seq"], _parked(r)) for r in rows]

    async def unpark(self, seqs: list[int]) -> None:
        """Parked calls applied."""
        if seqs:
            await self.conn.execute("DELETE FROM parked_calls WHERE seq = ANY($1::bigint[])", seqs)

    async def hold_partitions(self, partitions: list[int]) -> None:
        """Lock the rows of `partitions` (creating them when new) until commit: whoever
        writes the state of a partition's customers (their grants, their parked calls, where
        the partition is read again from) holds them, in order. Kafka hands a partition to one
        instance at a time; this makes an instance that lost it without knowing (a pause
        past its session) and the one it went to take turns."""
        if partitions:
            await self.conn.execute(
                "INSERT INTO call_offsets (partition, next_offset) "
                "SELECT unnest($1::int[]), 0 ON CONFLICT DO NOTHING",
                partitions,
            )
            await self.conn.execute(
                "SELECT 1 FROM call_offsets WHERE partition = ANY($1::int[]) "
                "ORDER BY partition FOR UPDATE",
                partitions,
            )

    async def call_offsets(self, partitions: list[int]) -> dict[int, int]:
        """Where each partition of usage.rated is read again from (its first call not applied
        yet); 0 for one never stored. Waits for a transaction holding them (`hold_partitions`)
        to end."""
        rows = await self.conn.fetch(
            "SELECT partition, next_offset FROM call_offsets WHERE partition = ANY($1::int[]) "
            "FOR SHARE",
            partitions,
        )
        found = {r["partition"]: r["next_offset"] for r in rows}
        return {p: found.get(p, 0) for p in partitions}

    async def store_call_offsets(self, offsets: dict[int, int]) -> None:
        """Move the resume points forward (never back: every instance's claim that all before
        its point is applied holds)."""
        parts = sorted(offsets)
        await self.conn.execute(
            "INSERT INTO call_offsets (partition, next_offset) "
            "SELECT * FROM unnest($1::int[], $2::bigint[]) "
            "ON CONFLICT (partition) DO UPDATE SET next_offset = EXCLUDED.next_offset "
            "WHERE call_offsets.next_offset < EXCLUDED.next_offset",
            parts,
            [offsets[p] for p in parts],
        )


def _call(item: Call | Reversal, name: str) -> object:
    """A call's field, or None for a reversal (its row has none of a call's fields)."""
    return None if isinstance(item, Reversal) else getattr(item, name)


def _parked(r: Any) -> Call | Reversal:
    if r["reversal_id"] is not None:
        # Its occurred_at is AT_ONCE (year 1), which asyncpg reads back without its zone.
        return Reversal(r["reversal_id"], r["usage_id"], r["customer_id"])
    return Call(
        r["usage_id"],
        r["customer_id"],
        r["did"],
        r["destination"],
        r["occurred_at"],
        r["duration_seconds"],
        r["amount"],
        r["currency"],
    )
