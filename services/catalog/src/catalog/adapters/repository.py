"""Package storage in the catalog's schema (explicit SQL)."""

from __future__ import annotations

from typing import Any

from catalog.domain.model import PackageState
from pkgshared.messages import PackageDefined


class PackageRepository:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def get(self, package_id: str) -> PackageState | None:
        """The package with its latest version, locked for this transaction."""
        row = await self._conn.fetchrow(
            "SELECT p.retired, v.defined FROM packages p "
            "JOIN package_versions v ON v.package_id = p.package_id "
            "AND v.version = p.latest_version WHERE p.package_id = $1 FOR UPDATE OF p",
            package_id,
        )
        if row is None:
            return None
        return PackageState(PackageDefined.model_validate_json(row["defined"]), row["retired"])

    async def add_version(self, defined: PackageDefined) -> None:
        await self._conn.execute(
            "INSERT INTO packages (package_id, latest_version) VALUES ($1, $2) "
            "ON CONFLICT (package_id) DO UPDATE SET latest_version = EXCLUDED.latest_version",
            defined.package_id,
            defined.version,
        )
        await self._conn.execute(
            "INSERT INTO package_versions (package_id, version, defined) VALUES ($1, $2, $3)",
            defined.package_id,
            defined.version,
            defined.model_dump_json(),
        )

    async def mark_retired(self, package_id: str) -> None:
        await self._conn.execute(
            "UPDATE packages SET retired = true WHERE package_id = $1", package_id
        )
