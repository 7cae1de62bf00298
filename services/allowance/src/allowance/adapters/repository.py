"""The allowance service's tables (explicit SQL): grants and calls applied (the horizon:
`horizon`; calls parked and where usage.rated is read again from: `parked_calls`; what covered
calls used: `covered_calls`). Every statement takes a whole batch."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from allowance.adapters.covered_calls import CoveredCalls
from allowance.adapters.horizon import Horizon
from allowance.adapters.parked_calls import ParkedCalls
from allowance.domain.model import Grant
from allowance.domain.rollover import Rollover

if TYPE_CHECKING:
    from pkgshared.db import Connection


_GRANT = (
    "grant_id, customer_id, did, assignment_id, destination_prefixes, valid_from, "
    "valid_until, granted_seconds, used_seconds, status, notify_at_percent, topup_id, "
    "rollover_percent, rollover_days, rolled_over_from, rolled_over_seconds, returned_seconds, "
    "peak_used_seconds"
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
        rollover_percent=row["rollover_percent"],
        rollover_days=row["rollover_days"],
        rolled_over_from=row["rolled_over_from"],
        rolled_over_seconds=row["rolled_over_seconds"],
        returned_seconds=row["returned_seconds"],
        peak_used_seconds=row["peak_used_seconds"],
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


class AllowanceRepository(ParkedCalls, CoveredCalls, Horizon):
    """Grants, the calls applied and the horizon; the calls parked and where usage.rated is
    read again from come from `ParkedCalls`, what covered calls used from `CoveredCalls`, the
    settled horizon and the expiry waiting from `Horizon`."""

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
            "  string_to_array(g.percents, ',')::int[], g.topup, g.percent, g.days, g.origin, "
            "  0, 0, 0 "
            "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], "
            "$6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::text[], $10::text[], "
            "$11::uuid[], $12::int[], $13::int[], $14::uuid[]) "
            "AS g(id, customer, did, assignment, prefixes, valid_from, valid_until, granted, "
            "status, percents, topup, percent, days, origin) "
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
            [g.rollover_percent for g in grants],
            [g.rollover_days for g in grants],
            [g.rolled_over_from for g in grants],
        )
        return [_grant(r) for r in rows]

    async def add_rollovers(self, rollovers: list[Rollover]) -> list[Rollover]:
        """Expired grants carry seconds into their rollover grants: each expired grant's
        `rolled_over_seconds` is set and its rollover grant inserted, once (a grant that
        carried before, or a rollover grant already there, is left as it is). Returns those
        made now."""
        if not rollovers:
            return []
        rows = await self.conn.fetch(
            "UPDATE grants g SET rolled_over_seconds = r.seconds "
            "FROM unnest($1::uuid[], $2::bigint[]) AS r(id, seconds) "
            "WHERE g.grant_id = r.id AND g.rolled_over_seconds = 0 RETURNING g.grant_id",
            [r.expired.grant_id for r in rollovers],
            [r.expired.rolled_over_seconds for r in rollovers],
        )
        carried = {r["grant_id"] for r in rows}
        made = [r for r in rollovers if r.expired.grant_id in carried]
        new = {g.grant_id for g in await self.add_grants([r.carried for r in made])}
        return [r for r in made if r.carried.grant_id in new]

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
            "SELECT grant_id, used_seconds, status, returned_seconds, rolled_over_seconds, "
            "peak_used_seconds FROM grants WHERE customer_id = ANY($1::text[]) "
            "AND used_seconds + rolled_over_seconds < granted_seconds "
            "AND valid_from <= $3 AND valid_until > $2",
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
        for grant_id, used, status, returned, rolled, peak in rows:
            g = fetched.get(grant_id) or known.get(grant_id)
            if g.used_seconds != used or g.status != status:
                g = known.keep(g.now(used, status))
            if (
                g.returned_seconds != returned
                or g.rolled_over_seconds != rolled
                or g.peak_used_seconds != peak
            ):  # reversals and rollover: rarely
                g = known.keep(
                    replace(
                        g,
                        returned_seconds=returned,
                        rolled_over_seconds=rolled,
                        peak_used_seconds=peak,
                    )
                )
            out[g.customer_id].append(g)
        return out

    async def grants_by_id(self, grant_ids: list[UUID]) -> list[Grant]:
        """The grants named, as they are now (used up or expired too: a reversal gives back
        to the grants its call used)."""
        if not grant_ids:
            return []
        rows = await self.conn.fetch(
            f"SELECT {_GRANT} FROM grants WHERE grant_id = ANY($1::uuid[])", grant_ids
        )
        return [_grant(r) for r in rows]

    async def save_used(self, grants: list[Grant]) -> None:
        if grants:
            await self.conn.execute(
                "UPDATE grants g SET used_seconds = u.used "
                "FROM unnest($1::uuid[], $2::bigint[]) AS u(id, used) WHERE g.grant_id = u.id",
                [g.grant_id for g in grants],
                [g.used_seconds for g in grants],
            )

    async def save_returned(self, grants: list[Grant]) -> None:
        """Grants reversals gave seconds back to (with what calls used of them since)."""
        if grants:
            await self.conn.execute(
                "UPDATE grants g SET used_seconds = u.used, returned_seconds = u.returned, "
                "peak_used_seconds = u.peak "
                "FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[]) "
                "AS u(id, used, returned, peak) WHERE g.grant_id = u.id",
                [g.grant_id for g in grants],
                [g.used_seconds for g in grants],
                [g.returned_seconds for g in grants],
                [g.peak_used_seconds for g in grants],
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
