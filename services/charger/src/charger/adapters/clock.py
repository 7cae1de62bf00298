"""The charger's clock (explicit SQL): the latest tick accepted and whether ChargesSettled was
written for it; the ticks refused as too far ahead of the wall clock."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from pkgshared.db import Connection


TICK_CHANNEL = "charger_tick"


class ClockRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def tick_at(self) -> datetime | None:
        value: datetime | None = await self.conn.fetchval("SELECT tick_at FROM clock WHERE id = 1")
        return value

    async def clock(self) -> tuple[datetime, UUID | None] | None:
        """The latest tick accepted: its `at` and tick_id."""
        row = await self.conn.fetchrow("SELECT tick_at, tick_id FROM clock WHERE id = 1")
        return None if row is None else (row["tick_at"], row["tick_id"])

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

    async def refuse(self, tick_id: UUID, at: datetime, wall_clock: datetime) -> bool:
        """Record a tick refused as too far ahead (docs/contract.md §4 ClockTicked); False when it
        already was, so its TickRefused is sent once."""
        row = await self.conn.fetchval(
            "INSERT INTO refused_ticks (tick_id, tick_at, wall_clock) VALUES ($1, $2, $3) "
            "ON CONFLICT (tick_id) DO NOTHING RETURNING 1",
            tick_id,
            at,
            wall_clock,
        )
        return row is not None
