"""The allowance service's tables (explicit SQL): grants, calls applied, the horizon (calls
parked and where usage.rated is read again from: `parked_calls`).
Every statement takes a whole batch."""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from allowance.adapters.parked_calls import ParkedCalls
from allowance.domain.model import Grant

if TYPE_CHECKING:
    from pkgshared.db import Connection


APPLY_CHANNEL = "allowance_apply"

_GRANT = (
    "grant_id, customer_id, did, assignment_id, destination_prefixes, valid_from, "
    "valid_until, granted_seconds, used_seconds, status, notify_at_percent, topup_id"
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
        notify_at_percent=tuple(row["notify_at_percent"]),
        topup_id=row["topup_id"],
    )


class _Grants:
    """Grants as last read or written, least recently used dropped first (a grant never
    changes but for its used seconds and status, which are read every time)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._grants: OrderedDict[UUID, Grant] = OrderedDict()

    def touch(self, grant_id: UUID) -> bool:
        """Is it known? It becomes the most recently used."""
        if grant_id in self._grants:
            self._grants.move_to_end(grant_id)
            return True
        return False

    def get(self, grant_id: UUID) -> Grant:
        """A grant known (the caller touched it)."""
        return self._grants[grant_id]

    def keep(self, g: Grant) -> Grant:
        self._grants[g.grant_id] = g
        self._grants.move_to_end(g.grant_id)
        if len(self._grants) > self._size:
            self._grants.popitem(last=False)
        return g


GRANTS_KEPT = 200_000
"""Grants whose unchanging fields the process keeps (about 0.5 KB each)."""
_KNOWN = _Grants(GRANTS_KEPT)


class AllowanceRepository(ParkedCalls):
    """Grants, the calls applied and the horizon; the calls parked and where usage.rated is
    read again from come from `ParkedCalls`."""

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
            "  g.valid_from, g.valid_until, g.granted, 0, g.status, "
            "  string_to_array(g.percents, ',')::int[], g.topup "
            "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], "
            "$6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::text[], $10::text[], "
            "$11::uuid[]) "
            "AS g(id, customer, did, assignment, prefixes, valid_from, valid_until, granted, "
            "status, percents, topup) "
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
            [",".join(str(p) for p in g.notify_at_percent) for g in grants],
            [g.topup_id for g in grants],
        )
        return [_grant(r) for r in rows]

    async def usable_grants(
        self, customer_ids: list[str], since: datetime, until: datetime
    ) -> dict[str, list[Grant]]:
        """The customers' grants with seconds left whose window meets [since, until]. Not
        locked: the caller holds the customers' partitions, which every writer of a customer's
        grants (the calls checkpoint, the expiry) locks first.

        Only what changes (used seconds, status) is read for every grant; the rest of a grant
        never changes and is read once (GRANTS_KEPT): decoding whole rows, prefixes and
        windows, was a fifth of applying."""
        rows = await self.conn.fetch(
            "SELECT grant_id, used_seconds, status FROM grants "
            "WHERE customer_id = ANY($1::text[]) "
            "AND used_seconds < granted_seconds AND valid_from <= $3 AND valid_until > $2",
            customer_ids,
            since,
            until,
        )
        known = _KNOWN
        fetched: dict[UUID, Grant] = {}
        # Those known are made the most recent first: keeping the others evicts older ones.
        missing = [r["grant_id"] for r in rows if not known.touch(r["grant_id"])]
        if len(rows) > GRANTS_KEPT // 2:
            missing = [r["grant_id"] for r in rows]  # more than the cache holds: read them all
        if missing:
            for r in await self.conn.fetch(
                f"SELECT {_GRANT} FROM grants WHERE grant_id = ANY($1::uuid[])", missing
            ):
                fetched[r["grant_id"]] = known.keep(_grant(r))
        out: dict[str, list[Grant]] = defaultdict(list)
        for grant_id, used, status in rows:
            g = fetched.get(grant_id) or known.get(grant_id)
            if g.used_seconds != used or g.status != status:
                g = known.keep(g.now(used, status))
            out[g.customer_id].append(g)
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
        """Mark expired the active grants whose window ended by `at`; return them. The caller
        holds every partition (`hold_partitions`): no call is applied meanwhile."""
        rows = await self.conn.fetch(
            "UPDATE grants SET status = 'expired' WHERE status = 'active' AND valid_until <= $1 "
            f"RETURNING {_GRANT}",
            at,
        )
        return [_grant(r) for r in rows]

    # ------------------------------------------------------------ calls
    async def first_applied(self, usage_ids: list[UUID]) -> set[UUID]:
        """Record `usage_ids` as applied; return those that were not before (a repeated
        usage_id is ignored). A call another instance is applying waits for its commit."""
        rows = await self.conn.fetch(
            "INSERT INTO applied_calls (usage_id) SELECT unnest($1::uuid[]) "
            "ON CONFLICT DO NOTHING RETURNING usage_id",
            usage_ids,
        )
        return {r["usage_id"] for r in rows}

    # ------------------------------------------------------------ horizon
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
