"""Kafka and PostgreSQL restarted in the middle of a large tick: after recovery every expected
debit is on the topic (deduplicated by debit_id), none unexpected, and the services are up.

Runs only against the local infrastructure (deploy/local/infra.sh), which it may restart."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest

from pkgcontract import topics
from pkgtools.testing.bulk import TICK_AT, debits_until, expected_ids, seed
from pkgtools.testing.infra import INFRA_SCRIPT, Infra
from pkgtools.testing.system import command, started_system
from tests.allowance_load import check, send, settle, workload

CUSTOMERS = 300


def infra(*args: str) -> None:
    subprocess.run(["bash", str(INFRA_SCRIPT), *args], check=True, capture_output=True)


CACHE = INFRA_SCRIPT.parent / ".cache"
STARTED_BY_US = {
    "kafka": CACHE / "kafka" / "kafka.pid",
    "postgres": CACHE / "postgres.started-by-us",
}


@pytest.fixture
def local_only(infra: Infra, restart: str) -> None:
    # scripts/test.sh starts the local infrastructure and exports its address, so the source
    # may say "environment": what matters is that infra.sh started the one the tests use.
    local = infra.kafka_bootstrap.startswith("127.0.0.1:") and "127.0.0.1" in infra.database_url
    if not local or not STARTED_BY_US[restart].exists():
        pytest.skip(f"restarts only a {restart} that deploy/local/infra.sh started")


@pytest.mark.parametrize("restart", ["kafka", "postgres"])
async def test_a_restart_mid_tick_loses_and_duplicates_nothing(
    local_only: None,
    kafka_bootstrap: str,
    database_url: str,
    tmp_path: Path,
    restart: str,
    figures: Counter[str],
) -> None:
    modules = ("catalog", "assignment")
    async with started_system(kafka_bootstrap, database_url, tmp_path, *modules) as system:
        assignment_ids = await seed(system, CUSTOMERS)
        charger = system.service("charger", CHARGE_BATCH_CUSTOMERS="10").start()
        charger.wait_healthy()
        want = expected_ids(assignment_ids)

        async with system.reader(topics.CREDIT_DEBITED) as reader:
            tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at=TICK_AT)
            await system.send(topics.CLOCK_TICKS, tick, key="clock")
            await reader.wait_for(lambda rs: len(rs) > 0, what="the first debits")
        if restart == "kafka":
            await asyncio.to_thread(infra, "kafka-down")
            await asyncio.to_thread(infra, "kafka-up")
        else:
            await asyncio.to_thread(infra, "pg-restart")
        figures[f"{restart} restarts mid-tick"] += 1

        got = await debits_until(system, want, timeout=240)
        assert set(got) == want
        figures["debits verified after restarts"] += len(want)
        for process in system.services.values():
            assert process.proc is not None and process.proc.poll() is None, process.tail()
            await asyncio.to_thread(process.wait_healthy, 60)


@pytest.mark.parametrize("restart", ["kafka", "postgres"])
async def test_a_restart_while_calls_are_applied_loses_and_duplicates_nothing(
    local_only: None,
    kafka_bootstrap: str,
    database_url: str,
    tmp_path: Path,
    restart: str,
    figures: Counter[str],
) -> None:
    """The allowance service alone, restarted under while calls are applied and more are
    still being read: every call applied once after recovery, each use and each grant's last
    balance exactly what the rules give."""
    want = workload(seed=11, calls=3000)
    first = len(want["messages"]) - 1000  # the grants and most calls; the rest during it
    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        allowance = system.service("allowance", APPLY_BATCH_CUSTOMERS="2").start()
        allowance.wait_healthy()
        async with system.reader(topics.FREE_MINUTES_USED) as reader:
            await send(system, want["messages"][:first])
            await settle(system)
            await reader.wait_for(lambda rs: len(rs) > 0, what="the first uses")
        if restart == "kafka":
            await asyncio.to_thread(infra, "kafka-down")
            await asyncio.to_thread(infra, "kafka-up")
            await send(system, want["messages"][first:])
        else:
            # The rest of the calls arrive while PostgreSQL goes away: polls the usage
            # reader cannot commit are read again from their first records.
            await asyncio.gather(
                send(system, want["messages"][first:]), asyncio.to_thread(infra, "pg-restart")
            )
        figures[f"{restart} restarts while applying calls"] += 1
        await check(system, want, timeout=240)
        figures["calls verified after restarts"] += len(want["used"])
        assert allowance.proc is not None and allowance.proc.poll() is None, allowance.tail()
        await asyncio.to_thread(allowance.wait_healthy, 60)
