"""Assignment storage in the assignment service's schema (explicit SQL)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from assignment.domain.model import AssignmentState, CatalogEntry
from pkgshared.messages import (
    AssignmentChanged,
    PackageAssigned,
    PackageDefined,
    PackageRetired,
    SpendLimitSet,
)


class CatalogView:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def get(self, package_id: str) -> CatalogEntry | None:
        row = await self._conn.fetchrow(
            "SELECT package_id, version, retired, minimum_days FROM catalog_packages "
            "WHERE package_id = $1",
            package_id,
        )
        return CatalogEntry(**dict(row)) if row else None

    async def apply_defined(self, event: PackageDefined) -> None:
        # Older versions arriving late (or again) never overwrite a newer one.
        await self._conn.execute(
            "INSERT INTO catalog_packages (package_id, version, minimum_days) VALUES ($1, $2, $3) "
            "ON CONFLICT (package_id) DO UPDATE SET version = EXCLUDED.version, "
            "minimum_days = EXCLUDED.minimum_days "
            "WHERE catalog_packages.version <= EXCLUDED.version",
            event.package_id,
            event.version,
            event.minimum_days,
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
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def get(self, assignment_id: UUID) -> AssignmentState | None:
        row = await self._conn.fetchrow(
            "SELECT assigned, current, minimum_days FROM assignments "
            "WHERE assignment_id = $1 FOR UPDATE",
            assignment_id,
        )
        if row is None:
            return None
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

    async def add(self, assigned: PackageAssigned, minimum_days: int | None) -> None:
        body = assigned.model_dump_json()
        await self._conn.execute(
            "INSERT INTO assignments (assignment_id, customer_id, assigned, current, minimum_days) "
            "VALUES ($1, $2, $3, $3, $4)",
            assigned.assignment_id,
            assigned.customer_id,
            body,
            minimum_days,
        )

    async def update(self, state: AssignmentChanged) -> None:
        await self._conn.execute(
            "UPDATE assignments SET current = $2 WHERE assignment_id = $1",
            state.assignment_id,
            state.model_dump_json(),
        )

    async def set_spend_limit(self, event: SpendLimitSet) -> None:
        await self._conn.execute(
            "INSERT INTO spend_limits (customer_id, monthly_limit, currency) VALUES ($1, $2, $3) "
            "ON CONFLICT (customer_id) DO UPDATE SET monthly_limit = EXCLUDED.monthly_limit, "
            "currency = EXCLUDED.currency",
            event.customer_id,
            event.monthly_limit,
            event.currency,
        )
