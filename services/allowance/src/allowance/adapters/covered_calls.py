"""What each covered call used (grant by grant, in order) and its credit, recorded in the
transaction that applies it, so that a UsageReversed can give those seconds back once
(docs/contract.md §6 Reversal); explicit SQL, part of
allowance.adapters.repository.AllowanceRepository."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from allowance.domain.reversal import CoveredBatch, CoveredCall, Used

if TYPE_CHECKING:
    from pkgshared.db import Connection


class CoveredCalls:
    conn: Connection

    async def record_covered(self, batch: CoveredBatch) -> None:
        """Covered calls applied now (one statement for a transaction's calls): the batch's
        columns as they are, the uses gathered back per call in order."""
        if not len(batch):
            return
        calls = len(batch)
        use_of = [
            n
            for n, (start, stop) in enumerate(
                zip(batch.first_use, [*batch.first_use[1:], len(batch.grant_ids)], strict=True)
            )
            for _ in range(stop - start)
        ]
        await self.conn.execute(
            "INSERT INTO covered_calls (usage_id, customer_id, did, currency, credit, grant_ids, "
            "seconds, reversal_id) "
            "SELECT c.u, c.customer, c.did, c.cur, c.credit, x.ids, x.secs, c.rev "
            "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::numeric[], "
            "$6::uuid[], $7::int[]) AS c(u, customer, did, cur, credit, rev, n) "
            "JOIN (SELECT k, array_agg(g ORDER BY m) AS ids, array_agg(s ORDER BY m) AS secs "
            "      FROM unnest($8::int[], $9::uuid[], $10::bigint[]) WITH ORDINALITY "
            "      AS u(k, g, s, m) GROUP BY k) AS x ON x.k = c.n "
            "ON CONFLICT DO NOTHING",
            batch.usage_ids,
            batch.customers,
            batch.dids,
            batch.currencies,
            batch.credits,
            batch.reversal_ids,
            list(range(calls)),
            use_of,
            batch.grant_ids,
            batch.seconds,
        )

    async def covered_calls(self, usage_ids: list[UUID]) -> dict[UUID, CoveredCall]:
        """The covered calls among `usage_ids` applied before, with the reversal that took
        each back (if one did)."""
        if not usage_ids:
            return {}
        rows = await self.conn.fetch(
            "SELECT usage_id, customer_id, did, currency, credit, grant_ids, seconds, "
            "reversal_id FROM covered_calls WHERE usage_id = ANY($1::uuid[])",
            usage_ids,
        )
        return {
            r["usage_id"]: CoveredCall(
                r["usage_id"],
                r["customer_id"],
                r["did"],
                r["currency"],
                r["credit"],
                tuple(Used(g, s) for g, s in zip(r["grant_ids"], r["seconds"], strict=True)),
                r["reversal_id"],
            )
            for r in rows
        }

    async def first_reversals(self, reversal_ids: list[UUID]) -> set[UUID]:
        """Record `reversal_ids` as read; return those that were not before (a repeated
        reversal_id is ignored, whatever it names). A reversal another instance is applying
        waits for its commit."""
        rows = await self.conn.fetch(
            "INSERT INTO reversals_read (reversal_id) SELECT unnest($1::uuid[]) "
            "ON CONFLICT DO NOTHING RETURNING reversal_id",
            reversal_ids,
        )
        return {r["reversal_id"] for r in rows}

    async def mark_reversed(self, reversed_calls: list[tuple[UUID, UUID]]) -> None:
        """(usage_id, reversal_id): calls recorded before that reversals took back now."""
        if reversed_calls:
            await self.conn.execute(
                "UPDATE covered_calls c SET reversal_id = r.rev "
                "FROM unnest($1::uuid[], $2::uuid[]) AS r(u, rev) "
                "WHERE c.usage_id = r.u AND c.reversal_id IS NULL",
                [u for u, _ in reversed_calls],
                [r for _, r in reversed_calls],
            )
