"""Package storage in the catalog's schema (explicit SQL)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from catalog.domain.model import PackageState
from pkgcontract.messages import PackageDefined
from pkgcontract.messages.versions import to_current

if TYPE_CHECKING:
    from pkgshared.db import Connection


class PackageRepository:
    def __init__(self, conn: Connection) -> None:
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
        # Stored as published: an older version is read through the same converters.
        defined = PackageDefined.model_validate(to_current(json.loads(row["defined"])))
        return PackageState(defined, row["retired"])

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
