"""One set of tests for what the catalog handlers expect of their repository, run against the
in-memory fake the unit tests use and against the PostgreSQL one: the fake may stand in only
as long as both pass."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from catalog.adapters.repository import PackageRepository
from catalog.bootstrap import MIGRATIONS
from catalog.service_layer.ports import Packages
from pkgcontract.messages import PackageDefined
from pkgshared.db import SHARED_MIGRATIONS, migrate
from tests.unit.fakes.catalog import FakePackages

Reopen = Callable[[], Packages]
"""A repository of a later unit of work, seeing what earlier ones wrote."""


@pytest.fixture(params=["fake", "postgres"])
async def repositories(request: Any, pool: Any) -> AsyncIterator[Reopen]:
    if request.param == "fake":
        shared = FakePackages()
        yield lambda: shared
        return
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    async with pool.acquire() as conn, conn.transaction():
        yield lambda: PackageRepository(conn)


def _defined(version: int, retail: str = "9.99") -> PackageDefined:
    return PackageDefined(
        package_id="gold",
        version=version,
        name=f"Gold v{version}",
        kind="recurring",
        retail=retail,
        currency="GBP",
        frequency="monthly",
        frequency_match=[1],
        effective_from=None,
    )


async def test_a_package_reads_back_as_its_latest_version(repositories: Reopen) -> None:
    assert await repositories().get("gold") is None
    first, second = _defined(1), _defined(2, retail="12.50")
    await repositories().add_version(first)
    state = await repositories().get("gold")
    assert state is not None and state.latest == first and not state.retired
    await repositories().add_version(second)
    state = await repositories().get("gold")
    assert state is not None and state.latest == second
    assert await repositories().get("silver") is None


async def test_a_retired_package_keeps_its_latest_version(repositories: Reopen) -> None:
    await repositories().add_version(_defined(1))
    await repositories().mark_retired("gold")
    state = await repositories().get("gold")
    assert state is not None and state.retired and state.latest.version == 1
