"""The charger killed with SIGKILL at several points of a large tick, and two chargers sharing
one: the debits on the topic, deduplicated by debit_id, are exactly the expected set."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from pkgcontract import topics
from pkgcontract.messages import natural_event_id
from pkgshared import topic_admin
from pkgtools.testing.bulk import (
    TICK_AT,
    debits_until,
    expected_ids,
    notice_ids,
    notices_until,
    seed,
)
from pkgtools.testing.system import System, body, command

CUSTOMERS = 400


async def start_system(kafka_bootstrap: str, database_url: str, log_dir: Path) -> System:
    system = System(kafka_bootstrap, database_url, log_dir)
    await topic_admin.create_topics(kafka_bootstrap, topics.with_prefix(system.prefix))
    for module in ("catalog", "assignment"):
        system.service(module).start()
    for process in system.services.values():
        process.wait_healthy()
    return system


@pytest.mark.parametrize(
    "fault", ["charger_before_commit@2", "charger_after_commit@2", "outbox_published@2"]
)
async def test_kill_9_mid_tick_then_restart_gives_every_debit_once(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, fault: str
) -> None:
    system = await start_system(kafka_bootstrap, database_url, tmp_path)
    try:
        assignment_ids = await seed(system, CUSTOMERS, notices=True)
        charger = system.service("charger", CHARGE_BATCH_CUSTOMERS="50")
        charger.start(FAULT_INJECT=fault)
        charger.wait_healthy()
        tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at=TICK_AT)
        await system.send(topics.CLOCK_TICKS, tick, key="clock")
        code = await asyncio.to_thread(charger.wait_exit, 120)
        assert code == -9, charger.tail()

        charger.start()
        want = expected_ids(assignment_ids)
        got = await debits_until(system, want)
        assert set(got) == want
        assert len(got) >= len(want)  # a republish repeats an id; none is missing or extra
        # Notices are made in the same transactions: each once too, whatever the crash.
        noticed = await notices_until(system, notice_ids(assignment_ids))
        assert set(noticed) == notice_ids(assignment_ids)
    finally:
        system.stop_all()
        await system.drop()


async def test_two_chargers_share_a_large_tick_without_double_charging(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    system = await start_system(kafka_bootstrap, database_url, tmp_path)
    try:
        assignment_ids = await seed(system, CUSTOMERS, notices=True)
        one = system.service("charger", instance="a", CHARGE_BATCH_CUSTOMERS="1")
        two = system.service("charger", instance="b", CHARGE_BATCH_CUSTOMERS="1")
        shared = {"DB_SCHEMA": one.env["DB_SCHEMA"], "CONSUMER_GROUP": "charger"}
        one.env.update(shared)
        two.env.update(shared)
        one.start()
        two.start()
        one.wait_healthy()
        two.wait_healthy()
        tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at=TICK_AT)
        await system.send(topics.CLOCK_TICKS, tick, key="clock")
        want = expected_ids(assignment_ids)
        got = await debits_until(system, want)
        assert sorted(got) == sorted(want)  # each exactly once, no republish without a crash
        noticed = await notices_until(system, notice_ids(assignment_ids))
        assert sorted(noticed) == sorted(notice_ids(assignment_ids))
        worked = [p for p in (one, two) if '"charging done"' in p.log_path.read_text()]
        assert len(worked) == 2, "both instances should have taken part"
    finally:
        system.stop_all()
        await system.drop()


async def read_to_end(bootstrap: str, topic: str) -> list[dict[str, object]]:
    """Every record of `topic` up to its end offsets as they are now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.subscribe([topic])  # fetches the topic's metadata
        await consumer.getmany(timeout_ms=100)
        consumer.unsubscribe()
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        assert parts, f"no partitions of {topic}"
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[dict[str, object]] = []
        while True:
            positions = {tp: await consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                return out
            batch = await consumer.getmany(timeout_ms=500)
            out += [body(r) for records in batch.values() for r in records]
    finally:
        await consumer.stop()


async def test_charges_settled_once_per_tick_after_every_charge_with_two_chargers(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    system = await start_system(kafka_bootstrap, database_url, tmp_path)
    try:
        assignment_ids = await seed(system, CUSTOMERS)
        chargers = [
            system.service("charger", instance=n, CHARGE_BATCH_CUSTOMERS="20") for n in "ab"
        ]
        for charger in chargers:
            charger.env.update({"DB_SCHEMA": chargers[0].env["DB_SCHEMA"], "CONSUMER_GROUP": "c"})
            charger.start()
        for charger in chargers:
            charger.wait_healthy()
        async with system.reader(topics.CHARGER_PROGRESS) as progress:
            tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at=TICK_AT)
            await system.send(topics.CLOCK_TICKS, tick, key="clock")
            await progress.wait_count(1, timeout=180, tick_id=tick["tick_id"])
            # Seen ChargesSettled, then read the debits to their end: every one is there.
            debits = await read_to_end(system.bootstrap, system.topic(topics.CREDIT_DEBITED))
            assert {d["debit_id"] for d in debits} == expected_ids(assignment_ids)
            # The same tick again changes nothing and is not settled again; a later one is,
            # and of three queued together at least the latest is, each at most once.
            later = [
                command("ClockTicked", tick_id=str(uuid.uuid4()), at=f"2026-06-{d}T00:00:00Z")
                for d in (16, 17, 18)
            ]
            for t in [tick, *later]:
                await system.send(topics.CLOCK_TICKS, t, key="clock")
            await progress.wait_count(1, timeout=60, tick_id=later[-1]["tick_id"])
            await progress.poll(1.0)
        settled = [body(r) for r in progress.records]
        per_tick = Counter(s["tick_id"] for s in settled)
        assert per_tick[tick["tick_id"]] == 1 and max(per_tick.values()) == 1, per_tick
        assert set(per_tick) <= {tick["tick_id"], *(t["tick_id"] for t in later)}
        assert all(
            s["event_id"] == str(natural_event_id(f"settled:{s['tick_id']}")) for s in settled
        )
        assert [s["at"] for s in settled] == sorted(s["at"] for s in settled)
    finally:
        system.stop_all()
        await system.drop()
