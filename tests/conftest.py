"""Fixtures shared by every tier. Tiers are marked by folder (unit / integration / e2e)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings

from pkgcontract import topics
from pkgshared import topic_admin
from pkgtools.testing.infra import Infra, provide_infra
from pkgtools.testing.system import System

TIERS = ("unit", "integration", "e2e", "reliability")

# No per-example deadline: on two busy cores (CI runs the tiers beside Kafka and PostgreSQL)
# an example's time says nothing about the code, and a property fails only on what it checks.
settings.register_profile("packages", deadline=None)
settings.load_profile("packages")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with provide_infra() as found:
        os.environ.setdefault("KAFKA_BOOTSTRAP_SERVERS", found.kafka_bootstrap)
        os.environ.setdefault("DATABASE_URL", found.database_url)
        yield found


@pytest.fixture(scope="session")
def kafka_bootstrap(infra: Infra) -> str:
    return infra.kafka_bootstrap


@pytest.fixture(scope="session")
def database_url(infra: Infra) -> str:
    return infra.database_url


@pytest.fixture
async def fresh_schema(database_url: str) -> AsyncIterator[str]:
    """A schema of its own for one test, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    yield name
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def system(
    kafka_bootstrap: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    import asyncio

    system = System(kafka_bootstrap, database_url, tmp_path_factory.mktemp("logs"))
    asyncio.run(topic_admin.create_topics(kafka_bootstrap, topics.with_prefix(system.prefix)))
    try:
        yield system
    finally:
        system.stop_all()
        for name, process in system.services.items():
            print(f"--- {name} log tail ---\n{process.tail(15)}")
        asyncio.run(system.drop())
