"""The settled horizon (the latest ChargesSettled applied) and the expiry it leaves waiting until
usage.rated is read that far (docs/contract.md §6 "Calls before expiry"); explicit SQL, part of
allowance.adapters.repository.AllowanceRepository."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from pkgshared.db import Connection

APPLY_CHANNEL = "allowance_apply"


class Horizon:
    conn: Connection

    async def horizon(self) -> datetime | None:
        value: datetime | None = await self.conn.fetchval(
            "SELECT settled_at FROM horizon WHERE id = 1"
        )
        return value

    async def expiry(self, lock: bool = False) -> tuple[datetime, dict[int, int]] | None:
        """The moment grants wait to expire at, with where each partition of usage.rated
        ended when its ChargesSettled was read (None: none waits). `lock`: until commit."""
        row = await self.conn.fetchrow(
            "SELECT expire_at, expire_ends FROM horizon WHERE id = 1 AND expire_at IS NOT NULL"
            + (" FOR UPDATE" if lock else "")
        )
        if row is None:
            return None
        ends = json.loads(row["expire_ends"])
        return row["expire_at"], {int(p): int(o) for p, o in ends.items()}

    async def await_expiry(self, at: datetime, ends: dict[int, int]) -> None:
        """Grants whose window ended by `at` expire once usage.rated is read to `ends` and the
        calls `at` settles are applied (a later moment replaces an earlier one waiting)."""
        await self.conn.execute(
            "UPDATE horizon SET expire_at = $1, expire_ends = $2::jsonb WHERE id = 1",
            at,
            json.dumps({str(p): o for p, o in sorted(ends.items())}),
        )

    async def mark_ready(self, ready: dict[int, datetime]) -> None:
        """Partitions read to their end as of a moment's ChargesSettled, with the calls it
        settles applied (never moved back)."""
        parts = sorted(ready)
        await self.conn.execute(
            "INSERT INTO usage_ready (partition, ready_for) "
            "SELECT * FROM unnest($1::int[], $2::timestamptz[]) "
            "ON CONFLICT (partition) DO UPDATE SET ready_for = EXCLUDED.ready_for "
            "WHERE usage_ready.ready_for < EXCLUDED.ready_for",
            parts,
            [ready[p] for p in parts],
        )

    async def ready_for(self, partitions: list[int]) -> dict[int, datetime]:
        rows = await self.conn.fetch(
            "SELECT partition, ready_for FROM usage_ready WHERE partition = ANY($1::int[])",
            partitions,
        )
        return {r["partition"]: r["ready_for"] for r in rows}

    async def expired_now(self) -> None:
        """The moment waiting has expired its grants."""
        await self.conn.execute(
            "UPDATE horizon SET expire_at = NULL, expire_ends = NULL WHERE id = 1"
        )

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
