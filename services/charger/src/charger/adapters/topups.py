"""The charger's top-ups (explicit SQL): each GrantMinutes kept once per topup_id until it is
made, the customer due no later than its valid_from; then marked granted or declined."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from charger.domain.topups import TopUp, TopUpOutcome, topup_of
from pkgcontract.messages import GrantMinutes

if TYPE_CHECKING:
    from pkgshared.db import Connection


PENDING_TOPUPS = (
    "SELECT min(valid_from) FROM topups t WHERE t.customer_id = {c} AND t.status IS NULL"
)
"""A customer's earliest top-up not made yet: every writer of customers.next_due_at folds it in
(with LEAST), so a customer is due no later than its next top-up."""


def _from_row(row: Any) -> TopUp:
    return topup_of(GrantMinutes.model_validate(json.loads(row["command"])))


class TopUpRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def add(self, cmd: GrantMinutes) -> bool:
        """Keep the top-up (not made yet) unless its topup_id is known: True when new."""
        inserted = await self.conn.fetchval(
            "INSERT INTO topups (topup_id, customer_id, valid_from, command) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            cmd.topup_id,
            cmd.customer_id,
            cmd.valid_from,
            cmd.model_dump_json(),
        )
        return bool(inserted)

    async def due_later(self, customer_id: str, valid_from: datetime) -> None:
        """The customer (its row locked or created) is due no later than `valid_from`."""
        await self.conn.execute(
            "INSERT INTO customers (customer_id, next_due_at) VALUES ($1, $2) "
            "ON CONFLICT (customer_id) DO UPDATE SET next_due_at = "
            "LEAST(customers.next_due_at, EXCLUDED.next_due_at)",
            customer_id,
            valid_from,
        )

    async def due(self, customer_ids: list[str], at: datetime) -> list[TopUp]:
        """The top-ups of `customer_ids` due by `at` and not made yet, locked."""
        rows = await self.conn.fetch(
            "SELECT command FROM topups WHERE customer_id = ANY($1::text[]) "
            "AND status IS NULL AND valid_from <= $2 ORDER BY valid_from, topup_id FOR UPDATE",
            customer_ids,
            at,
        )
        return [_from_row(r) for r in rows]

    async def fail_due(self, customer_id: str, at: datetime) -> list[UUID]:
        """Mark the customer's top-ups due by `at` and not made "failed" (read as plain
        columns: one whose command no longer reads is found too); their ids."""
        rows = await self.conn.fetch(
            "UPDATE topups SET status = 'failed', made_at = now() WHERE customer_id = $1 "
            "AND status IS NULL AND valid_from <= $2 RETURNING topup_id",
            customer_id,
            at,
        )
        return [r["topup_id"] for r in rows]

    async def mark(self, made: list[tuple[TopUp, TopUpOutcome]]) -> None:
        if made:
            await self.conn.execute(
                "UPDATE topups t SET status = m.status, made_at = now() "
                "FROM unnest($1::uuid[], $2::text[]) AS m(id, status) WHERE t.topup_id = m.id",
                [t.topup_id for t, _ in made],
                [outcome for _, outcome in made],
            )
