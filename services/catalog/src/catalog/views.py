"""What the catalog's read API shows (read-only SQL on its own tables): the packages with
their latest version, and one package with every version."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from pkgcontract.messages import PackageDefined
from pkgcontract.messages.versions import to_current
from pkgshared.http import Page, page_of

if TYPE_CHECKING:
    from pkgshared.db import Connection


class Package(BaseModel):
    model_config = ConfigDict(frozen=True)

    package_id: str
    retired: bool
    latest_version: int
    latest: PackageDefined = Field(description="The latest version as PackageDefined said it.")


class PackageVersions(BaseModel):
    model_config = ConfigDict(frozen=True)

    package_id: str
    retired: bool
    versions: list[PackageDefined] = Field(description="Every version, oldest first.")


def _defined(raw: Any) -> PackageDefined:
    # Stored as published: an older version is read through the same converters.
    return PackageDefined.model_validate(to_current(json.loads(raw)))


async def packages(conn: Connection, limit: int, after: list[str] | None) -> Page[Package]:
    rows = await conn.fetch(
        "SELECT p.package_id, p.retired, p.latest_version, v.defined FROM packages p "
        "JOIN package_versions v ON v.package_id = p.package_id AND v.version = p.latest_version "
        "WHERE ($1::text IS NULL OR p.package_id > $1) ORDER BY p.package_id LIMIT $2",
        after[0] if after else None,
        limit + 1,
    )
    found = [
        Package(
            package_id=r["package_id"],
            retired=r["retired"],
            latest_version=r["latest_version"],
            latest=_defined(r["defined"]),
        )
        for r in rows
    ]
    return page_of(found, limit, lambda p: (p.package_id,))


async def package(conn: Connection, package_id: str) -> PackageVersions | None:
    retired = await conn.fetchval("SELECT retired FROM packages WHERE package_id = $1", package_id)
    if retired is None:
        return None
    rows = await conn.fetch(
        "SELECT defined FROM package_versions WHERE package_id = $1 ORDER BY version",
        package_id,
    )
    return PackageVersions(
        package_id=package_id, retired=retired, versions=[_defined(r["defined"]) for r in rows]
    )
