"""Assignment storage in the assignment service's schema (explicit SQL)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

from assignment.domain.model import AssignmentState, CatalogEntry
from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    PackageAssigned,
    PackageDefined,
    PackageRetired,
    SpendLimitSet,
)

if TYPE_CHECKING:
    from pkgshared.db import Connection


class CatalogRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._seen: dict[str, CatalogEntry | None] = {}

    async def preload(self, package_ids: list[str]) -> None:
        """Read the packages a batch names, in one round trip (kept for the unit of work)."""
        wanted = sorted({p for p in package_ids if p not in self._seen})
        if not wanted:
            return
        rows = await self._conn.fetch(
            "SELECT package_id, version, retired, minimum_days FROM catalog_packages "
            "WHERE package_id = ANY($1::text[])",
            wanted,
        )
        for p in wanted:
            self._seen[p] = None
        for row in rows:
            self._seen[row["package_id"]] = CatalogEntry(**dict(row))

    async def get(self, package_id: str) -> CatalogEntry | None:
        """The package as the view knows it (read once per unit of work)."""
        if package_id not in self._seen:
            await self.preload([package_id])
        return self._seen[package_id]

    async def apply_defined(self, event: PackageDefined) -> None:
        # Older versions arriving late (or again) never overwrite a newer one.
        await self._conn.execute(
            "INSERT INTO catalog_packages (package_id, version, minimum_days) VALUES ($1, $2, $3) "
            "ON CONFLICT (package_id) DO UPDATE SET version = EXCLUDED.version, "
            "minimum_days = EXCLUDED.minimum_days "
            "WHERE catalog_packages.version <= EXCLUDED.version",
            event.package_id,
            event.version,
            _stored(event.minimum_days),
        )

    async def positions(self) -> dict[int, int]:
        """How far the view has read catalog.packages, by partition."""
        rows = await self._conn.fetch(
            "SELECT partition, next_offset FROM read_offsets WHERE topic = 'catalog.packages'"
        )
        return {r["partition"]: r["next_offset"] for r in rows}

    async def apply_retired(self, event: PackageRetired) -> None:
        await self._conn.execute(
            "INSERT INTO catalog_packages (package_id, version, retired) VALUES ($1, $2, true) "
            "ON CONFLICT (package_id) DO UPDATE SET retired = true",
            event.package_id,
            event.version,
        )


class AssignmentRepository:
    """Assignments of one unit of work. What it reads or writes is kept by id for the rest of
    the unit of work, and writes reach the table in one statement each at `flush()` (the
    unit of work flushes before committing): a batch of commands costs a few round trips,
    not a few per command."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._seen: dict[UUID, AssignmentState | None] = {}
        self._new: dict[UUID, tuple[PackageAssigned, int | None]] = {}
        self._changed: dict[UUID, AssignmentChanged] = {}
        self._history: list[tuple[UUID, str]] = []

    async def preload(self, assignment_ids: list[UUID]) -> None:
        """Read (and lock) the assignments a batch names, in one round trip."""
        wanted = sorted({i for i in assignment_ids if i not in self._seen})
        if not wanted:
            return
        rows = await self._conn.fetch(
            "SELECT assignment_id, assigned, current, minimum_days FROM assignments "
            "WHERE assignment_id = ANY($1::uuid[]) ORDER BY assignment_id FOR UPDATE",
            wanted,
        )
        for i in wanted:
            self._seen[i] = None
        for row in rows:
            self._seen[row["assignment_id"]] = _state(row)

    async def get(self, assignment_id: UUID) -> AssignmentState | None:
        if assignment_id not in self._seen:
            await self.preload([assignment_id])
        return self._seen[assignment_id]

    async def add(self, assigned: PackageAssigned, minimum_days: int | None) -> None:
        self._new[assigned.assignment_id] = (assigned, minimum_days)
        self._history.append((assigned.assignment_id, assigned.model_dump_json()))
        self._seen[assigned.assignment_id] = AssignmentState(
            current=assigned, assigned=assigned, minimum_days=minimum_days
        )

    async def update(
        self, state: AssignmentChanged, event: AssignmentChanged | AssignmentEnded | None = None
    ) -> None:
        """Keep `state` as the assignment's latest; `event` (default: the state itself) is
        what its history records."""
        self._history.append((state.assignment_id, (event or state).model_dump_json()))
        known = self._seen.get(state.assignment_id)
        if known is not None:
            self._seen[state.assignment_id] = AssignmentState(
                current=state, assigned=known.assigned, minimum_days=known.minimum_days
            )
        self._changed[state.assignment_id] = state

    async def flush(self) -> None:
        if self._new:
            new = list(self._new.values())
            bodies = [a.model_dump_json() for a, _ in new]
            await self._conn.execute(
                "INSERT INTO assignments (assignment_id, customer_id, assigned, current, "
                "minimum_days) SELECT i, c, b::jsonb, b::jsonb, m FROM unnest($1::uuid[], "
                "$2::text[], $3::text[], $4::bigint[]) AS p(i, c, b, m)",
                [a.assignment_id for a, _ in new],
                [a.customer_id for a, _ in new],
                bodies,
                [_stored(m) for _, m in new],
            )
            self._new.clear()
        if self._changed:
            changed = list(self._changed.values())
            await self._conn.execute(
                "UPDATE assignments a SET current = p.body::jsonb "
                "FROM unnest($1::uuid[], $2::text[]) AS p(id, body) WHERE a.assignment_id = p.id",
                [c.assignment_id for c in changed],
                [c.model_dump_json() for c in changed],
            )
            self._changed.clear()
        if self._history:
            await self._conn.execute(
                "INSERT INTO assignment_history (assignment_id, event) "
                "SELECT * FROM unnest($1::uuid[], $2::text[])",
                [i for i, _ in self._history],
                [e for _, e in self._history],
            )
            self._history.clear()

    async def set_spend_limit(self, event: SpendLimitSet) -> None:
        await self._conn.execute(
            "INSERT INTO spend_limits (customer_id, monthly_limit, currency) VALUES ($1, $2, $3) "
            "ON CONFLICT (customer_id) DO UPDATE SET monthly_limit = EXCLUDED.monthly_limit, "
            "currency = EXCLUDED.currency",
            event.customer_id,
            event.monthly_limit,
            event.currency,
        )


def _state(row: Any) -> AssignmentState:
    current_obj = json.loads(row["current"])
    current: PackageAssigned | AssignmentChanged = (
        AssignmentChanged.model_validate(current_obj)
        if current_obj.get("event_type") == "AssignmentChanged"
        else PackageAssigned.model_validate(current_obj)
    )
    return AssignmentState(
        current=current,
        assigned=PackageAssigned.model_validate_json(row["assigned"]),
        minimum_days=row["minimum_days"],
    )


MINIMUM_DAYS_STORED = 10**9
"""The most minimum_days kept (the contract sets no bound; a bigint holds less than what a
message may carry): from start_date, every end date the calendar has is inside it already."""


def _stored(minimum_days: int | None) -> int | None:
    return None if minimum_days is None else min(minimum_days, MINIMUM_DAYS_STORED)
