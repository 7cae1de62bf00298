"""The charger killed with SIGKILL at several points of a large tick, and two chargers sharing
one: the debits on the topic, deduplicated by debit_id, are exactly the expected set."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from pkgshared import topics
from pkgshared.testing.bulk import TICK_AT, debits_until, expected_ids, seed
from pkgshared.testing.system import System, command

CUSTOMERS = 400


async def start_system(kafka_bootstrap: str, database_url: str, log_dir: Path) -> System:
    system = System(kafka_bootstrap, database_url, log_dir)
    await topics.create_topics(kafka_bootstrap, topics.with_prefix(system.prefix))
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
        assignment_ids = await seed(system, CUSTOMERS)
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
    finally:
        system.stop_all()
        await system.drop()


async def test_two_chargers_share_a_large_tick_without_double_charging(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    system = await start_system(kafka_bootstrap, database_url, tmp_path)
    try:
        assignment_ids = await seed(system, CUSTOMERS)
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
        worked = [p for p in (one, two) if '"charging done"' in p.log_path.read_text()]
        assert len(worked) == 2, "both instances should have taken part"
    finally:
        system.stop_all()
        await system.drop()
