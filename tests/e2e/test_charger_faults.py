"""The charger killed with SIGKILL at several points of a large tick, and two chargers sharing
one: the debits on the topic, deduplicated by debit_id, are exactly the expected set."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from pkgshared import topics
from pkgshared.testing.kafka import produce
from pkgshared.testing.system import System, body, command

CUSTOMERS = 400
PERIODS = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01"]


def expected_ids(assignment_ids: list[str]) -> set[str]:
    return {
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"packages:debit:{a}:{p}"))
        for a in assignment_ids
        for p in PERIODS
    }


async def seed(system: System) -> list[str]:
    """One package and CUSTOMERS assignments, through the services' normal paths."""
    pid = f"bulk-{uuid.uuid4().hex[:6]}"
    define = command(
        "DefinePackage",
        package_id=pid,
        name="bulk",
        kind="recurring",
        retail="1.25",
        currency="GBP",
        frequency="monthly",
        frequency_match=[1],
    )
    async with system.reader(topics.CATALOG_PACKAGES) as reader:
        await system.send(topics.CATALOG_COMMANDS, define, key=pid)
        await reader.wait_count(1, event_type="PackageDefined", package_id=pid)
    assigns = [
        command(
            "AssignPackage",
            assignment_id=str(uuid.uuid4()),
            customer_id=f"c{n:05d}",
            package_id=pid,
            quantity=1,
            start_date="2026-01-01",
        )
        for n in range(CUSTOMERS)
    ]
    for a in assigns:
        await produce(
            system.bootstrap,
            system.topic(topics.ASSIGNMENT_COMMANDS),
            [a],
            key=str(a["customer_id"]),
        )
    async with system.reader(topics.ASSIGNMENT_EVENTS) as reader:
        await reader.wait_count(CUSTOMERS, timeout=120, event_type="PackageAssigned")
    return [str(a["assignment_id"]) for a in assigns]


async def debits_until(system: System, want: set[str], timeout: float = 180) -> list[str]:
    async with system.reader(topics.CREDIT_DEBITED) as reader:
        await reader.wait_for(
            lambda rs: {body(r)["debit_id"] for r in rs} >= want,
            timeout=timeout,
            what=f"{len(want)} debits",
        )
        # Anything still in flight would show up now, not after the assertion.
        await asyncio.sleep(0)
        await reader.poll(1.0)
        return [body(r)["debit_id"] for r in reader.records]


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
        assignment_ids = await seed(system)
        charger = system.service("charger", CHARGE_BATCH_CUSTOMERS="50")
        charger.start(FAULT_INJECT=fault)
        charger.wait_healthy()
        tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at="2026-06-15T00:00:00Z")
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
        assignment_ids = await seed(system)
        one = system.service("charger", instance="a", CHARGE_BATCH_CUSTOMERS="5")
        two = system.service("charger", instance="b", CHARGE_BATCH_CUSTOMERS="5")
        shared = {"DB_SCHEMA": one.env["DB_SCHEMA"], "CONSUMER_GROUP": "charger"}
        one.env.update(shared)
        two.env.update(shared)
        one.start()
        two.start()
        one.wait_healthy()
        two.wait_healthy()
        tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at="2026-06-15T00:00:00Z")
        await system.send(topics.CLOCK_TICKS, tick, key="clock")
        want = expected_ids(assignment_ids)
        got = await debits_until(system, want)
        assert sorted(got) == sorted(want)  # each exactly once, no republish without a crash
        worked = [p for p in (one, two) if '"charging done"' in p.log_path.read_text()]
        assert len(worked) == 2, "both instances should have taken part"
    finally:
        system.stop_all()
        await system.drop()
