"""What each covered call used (grant by grant, in order) and its credit, recorded in the
transaction that applies it, so that a UsageReversed can give those seconds back once
(docs/contract.md §6 Reversal); explicit SQL, part of
allowance.adapters.repository.AllowanceRepository."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from allowance.domain.reversal import CoveredCall

if TYPE_CHECKING:
    from pkgshared.db import Connection


class CoveredCalls:
    conn: Connection

    async def record_covered(self, calls: list[CoveredCall]) -> None:
        """Covered calls applied now (one statement for a transaction's calls)."""
        if not calls:
            return
        await self.conn.execute(
            "INSERT INTO covered_calls (usage_id, customer_id, did, currency, credit, grant_ids, "
            "seconds, reversal_id) "
            "SELECT c.u, c.customer, c.did, c.cur, c.credit, string_to_array(c.ids, ',')::uuid[], "
            "string_to_array(c.secs, ',')::bigint[], c.rev "
            "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::numeric[], "
            "$6::text[], $7::text[], $8::uuid[]) "
            "AS c(u, customer, did, cur, credit, ids, secs, rev) ON CONFLICT DO NOTHING",
            [c.usage_id for c in calls],
            [c.customer_id for c in calls],
            [c.did for c in calls],
            [c.currency for c in calls],
            [c.credit for c in calls],
            [",".join(str(g) for g, _ in c.uses) for c in calls],
            [",".join(str(s) for _, s in c.uses) for c in calls],
            [c.reversal_id for c in calls],
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
                tuple(zip(r["grant_ids"], r["seconds"], strict=True)),
                r["reversal_id"],
            )
            for r in rows
        }

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
