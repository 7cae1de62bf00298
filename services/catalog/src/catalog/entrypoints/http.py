"""The catalog service's read API: parse the request, call a view, nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Path

from catalog import views
from pkgshared.http import After, Connection, Limit, Page, decode_cursor, read_api

DESCRIPTION = (
    "Read-only views of the catalog's own state: the packages with their latest version, "
    "and one package with every version. catalog.packages (compacted) stays the contract; "
    "this is for operators."
)
router = APIRouter(tags=["catalog"])

PackagePath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="The package's id.")
]


@router.get("/packages", summary="Every package with its latest version")
async def packages(
    conn: Connection, limit: Limit = 100, after: After = None
) -> Page[views.Package]:
    return await views.packages(conn, limit, decode_cursor(after, 1))


@router.get("/packages/{package_id}", summary="One package with every version")
async def package(conn: Connection, package_id: PackagePath) -> views.PackageVersions:
    found = await views.package(conn, package_id)
    if found is None:
        raise HTTPException(404, f"no package {package_id!r}")
    return found


def app(
    pool: Any = None, healthy: Callable[[], Awaitable[dict[str, bool]]] | None = None
) -> FastAPI:
    return read_api("catalog", DESCRIPTION, [router], healthy, pool)
