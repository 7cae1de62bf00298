"""The services as real processes against the real broker and database, driven only through
Kafka. Each test module gets its own topic prefix and schemas, so modules do not see each
other's messages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pkgcontract import topics
from pkgtools.testing.kafka import TopicReader
from pkgtools.testing.scenario import WATCHED, Scenario
from pkgtools.testing.system import System, started_system


@pytest.fixture(scope="module")
def running(system: System) -> Iterator[System]:
    """Catalog and assignment running (started once per module)."""
    for module in ("catalog", "assignment"):
        system.service(module).start()
    for process in list(system.services.values()):
        process.wait_healthy()
    yield system


@pytest.fixture
async def events(running: System) -> AsyncIterator[TopicReader]:
    async with running.reader(
        topics.CATALOG_PACKAGES,
        topics.ASSIGNMENT_EVENTS,
        topics.CATALOG_COMMANDS + ".dlq",
        topics.ASSIGNMENT_COMMANDS + ".dlq",
    ) as reader:
        yield reader


@pytest.fixture
async def everything(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> AsyncIterator[Scenario]:
    """All four services, and a scenario reading what they publish (the allowance's outputs
    too)."""
    from tests.allowance_load import OUTPUTS

    modules = ("catalog", "assignment", "charger", "allowance")
    async with (
        started_system(kafka_bootstrap, database_url, tmp_path, *modules) as system,
        system.reader(*WATCHED, *OUTPUTS) as reader,
    ):
        yield Scenario(system, reader)


@pytest.fixture
async def charging(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> AsyncIterator[Scenario]:
    """All three services with a topic prefix and schemas of their own (so a test's clock
    starts from nothing), and a scenario reading what they publish."""
    modules = ("catalog", "assignment", "charger")
    async with (
        started_system(kafka_bootstrap, database_url, tmp_path, *modules) as system,
        system.reader(*WATCHED) as reader,
    ):
        yield Scenario(system, reader)
