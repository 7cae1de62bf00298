"""Creating and checking topics on the real local broker (one broker: 1 copy, 1 in sync), on
topics of the test's own (the contract's real topics are never touched): what is created is
as asked, and a topic that drifts from its spec is named with the setting that differs."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from pkgcontract import topics
from pkgcontract.topics import TopicSpec
from pkgshared.topic_admin import TopicsReport, ensure_topics
from pkgshared.topic_check import Difference, Durability
from pkgtools.testing.kafka import create_plain_topics, unique_name
from pkgtools.testing.waits import wait_until

SINGLE = Durability(1, 1)


def specs() -> tuple[TopicSpec, TopicSpec]:
    """A compacted topic and a kept-forever one, as the contract's (names the session's
    clean-up deletes: tests/integration/conftest.py)."""
    return (
        TopicSpec(
            unique_name("compacted"),
            3,
            {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"},
        ),
        TopicSpec(unique_name("events"), 2, {"retention.ms": "-1", "retention.bytes": "-1"}),
    )


async def _alter(bootstrap: str, topic: str, config: dict[str, str]) -> None:
    """Replace `topic`'s own settings with `config` (AlterConfigs sets the whole set)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, config)])
    finally:
        await admin.close()


async def test_created_topics_are_as_asked_and_a_second_run_creates_nothing(
    kafka_bootstrap: str,
) -> None:
    wanted = specs()
    first = await ensure_topics(kafka_bootstrap, wanted)
    assert first.brokers == 1 and first.durability == SINGLE
    assert sorted(first.created) == sorted(s.name for s in wanted)
    assert first.differences == []

    # A check finds them (once the broker's metadata has them) as the contract says, 1 and 1.
    async def checked() -> TopicsReport | None:
        report = await ensure_topics(kafka_bootstrap, wanted, create=False)
        return None if any(d.setting == "topic" for d in report.differences) else report

    described = await wait_until(checked, what="the created topics described", timeout=30)
    assert described.differences == []
    again = await ensure_topics(kafka_bootstrap, wanted)
    assert again.created == [] and again.differences == []


async def test_a_topic_unlike_its_spec_is_named_with_each_setting(kafka_bootstrap: str) -> None:
    compacted, events = specs()
    # Made with the broker's defaults under the compacted spec's name: 1 partition, delete.
    await create_plain_topics(kafka_bootstrap, [compacted.name], partitions=1)
    report = await ensure_topics(kafka_bootstrap, (compacted, events))
    assert report.created == [events.name]  # the missing one is created, the other checked
    assert report.differences == [
        Difference(compacted.name, "partitions", "1", "3"),
        Difference(compacted.name, "cleanup.policy", "delete", "compact"),
        Difference(compacted.name, "min.compaction.lag.ms", "0", "60000"),
    ]

    # A setting changed after creation: retention shortened, min ISR above the one copy.
    await _alter(
        kafka_bootstrap,
        events.name,
        {"retention.ms": "86400000", "retention.bytes": "-1", "min.insync.replicas": "2"},
    )
    expected = [
        Difference(events.name, "retention.ms", "86400000", "-1"),
        Difference(
            events.name,
            "min.insync.replicas",
            "2",
            "at most 1 (its replicas; no write succeeds above)",
        ),
    ]

    async def drift() -> bool:
        found = await ensure_topics(kafka_bootstrap, (events,), create=False)
        return found.differences == expected

    await wait_until(drift, what="the altered settings reported", timeout=30)


@pytest.fixture
async def prefix(kafka_bootstrap: str) -> AsyncIterator[str]:
    """A topic prefix of the test's own; its topics deleted afterwards."""
    name = f"topics{uuid.uuid4().hex[:8]}."
    yield name
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap, request_timeout_ms=60000)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(name)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


def _cli(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_S")}  # plaintext
    return subprocess.run(
        [sys.executable, "-m", "pkgshared.topic_admin", *args, "--bootstrap", bootstrap],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def test_the_command_creates_the_contract_topics_then_reports_drift_and_fails(
    kafka_bootstrap: str, prefix: str
) -> None:
    missing = _cli(kafka_bootstrap, "check", "--prefix", prefix)
    assert missing.returncode == 1
    assert f"differs: {prefix}{topics.CATALOG_PACKAGES}: topic is missing" in missing.stdout

    created = _cli(kafka_bootstrap, "create", "--prefix", prefix)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "1 broker(s): replication factor 1, min.insync.replicas 1" in created.stdout
    assert f"created {len(topics.TOPICS)} topic(s)" in created.stdout

    packages = prefix + topics.CATALOG_PACKAGES
    await _alter(kafka_bootstrap, packages, {"cleanup.policy": "delete"})

    async def reported() -> subprocess.CompletedProcess[str] | None:
        run = _cli(kafka_bootstrap, "create", "--prefix", prefix)
        return run if "cleanup.policy" in run.stdout else None

    drifted = await wait_until(reported, what="the altered policy reported", timeout=60, every=1)
    assert drifted.returncode == 1
    assert "created 0 topic(s)" in drifted.stdout
    lines = [line for line in drifted.stdout.splitlines() if line.startswith("differs:")]
    assert f"differs: {packages}: cleanup.policy is delete, expected compact" in lines
    # AlterConfigs replaced all its own settings: those are named too, nothing else.
    assert all(line.startswith(f"differs: {packages}: ") for line in lines)
    assert "difference(s) from the contract" in drifted.stderr

    refused = _cli(kafka_bootstrap, "check", "--prefix", prefix, "--replication-factor", "3")
    assert refused.returncode == 2
    assert "replication factor 3 needs as many brokers; the cluster reports 1" in refused.stderr
