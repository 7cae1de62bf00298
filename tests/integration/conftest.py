"""Integration tests name their topics with `unique_name`; the ones this session created are
deleted at its end, so a shared broker does not collect them run after run."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from pkgshared.db import create_pool

UNIQUE = re.compile(r"^(relay\.)?[a-z-]+-[0-9a-f]{12}(\.dlq)?$")  # unique_name() and its DLQ


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {t for t in await admin.list_topics() if UNIQUE.match(t)}
    finally:
        await admin.close()


async def _delete(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=60000)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


@pytest.fixture(scope="session", autouse=True)
def delete_unique_topics(kafka_bootstrap: str) -> Iterator[None]:
    before = asyncio.run(_topics(kafka_bootstrap))
    yield
    mine = sorted(asyncio.run(_topics(kafka_bootstrap)) - before)
    if mine:
        asyncio.run(_delete(kafka_bootstrap, mine))


@pytest.fixture
async def pool(database_url: str, fresh_schema: str) -> AsyncIterator[Any]:
    """An asyncpg pool on a schema of its own, nothing migrated yet; closed afterwards."""
    created = await create_pool(database_url, fresh_schema)
    try:
        yield created
    finally:
        await created.close()
