"""kill -9 of allowance instances at random moments while calls are read and applied, two
instances sharing the work (each kill is a rebalance: the survivor takes the partitions over
from their resume points, the restarted one takes some back). After recovery every call is
applied once: each use and each grant's last balance exactly what the rules give, in the
order read, with some customers' calls parked behind a call dated a year ahead.

The moments come from a seeded generator (CHAOS_SEED replays a run's choices)."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import asyncpg

from pkgcontract import topics
from pkgtools.testing.system import started_system
from pkgtools.testing.waits import wait_until
from tests.allowance_load import FAR_AHEAD, check, send, settle, workload

ROUNDS = 6


async def _until_parked(database_url: str, schema: str, far: int) -> None:
    conn = await asyncpg.connect(database_url)
    query = f"SELECT count(DISTINCT usage_id) FROM {schema}.parked_calls WHERE occurred_at >= $1"

    async def parked() -> bool:
        return await conn.fetchval(query, FAR_AHEAD) >= far

    try:
        await wait_until(parked, f"the {far} far calls parked", 60, every=0.2)
    finally:
        await conn.close()


async def test_random_kills_of_two_instances_apply_every_call_once(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, figures: Counter[str]
) -> None:
    seed = int(os.environ.get("CHAOS_SEED", random.randrange(1_000_000)))
    print(f"CHAOS_SEED={seed}")
    rng = random.Random(seed)
    # A few calls dated more than a year ahead: their customers' calls are parked (to the
    # table, out of memory) while instances are killed, until the last ChargesSettled.
    want = workload(seed=seed, calls=4000, far=6)
    grants = [m for m in want["messages"] if m[0] == topics.FREE_MINUTES_GRANTED]
    calls = [m for m in want["messages"] if m[0] == topics.USAGE_RATED]
    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        one = system.service("allowance", instance="a", APPLY_BATCH_CUSTOMERS="4")
        two = system.service("allowance", instance="b", APPLY_BATCH_CUSTOMERS="4")
        shared = {"DB_SCHEMA": one.env["DB_SCHEMA"], "CONSUMER_GROUP": "allowance"}
        for process in (one, two):
            process.env.update(shared)
            process.start()
        for process in (one, two):
            await asyncio.to_thread(process.wait_healthy)
        await send(system, grants)
        step = len(calls) // ROUNDS + 1
        for n in range(ROUNDS):
            await send(system, calls[n * step : (n + 1) * step])
            if n == 1:
                await settle(system)  # from here on, calls are applied as they are read
            # A random moment of reading or applying, not a condition to wait for.
            await asyncio.sleep(rng.uniform(0.0, 1.5))
            victim = rng.choice((one, two))
            victim.kill()
            figures["allowance instances killed"] += 1
            victim.start()
        # Every far call parked before the ChargesSettled that passes them (a kill in the last
        # round can leave one in memory until the restarted instance parks it).
        await _until_parked(database_url, one.env["DB_SCHEMA"], 6)
        last = FAR_AHEAD + timedelta(days=60)
        await settle(system, last)
        await check(system, want, timeout=300, settled_at=last)
        figures["calls verified after random kills"] += len(want["used"])
        # A restart starts a new log: what the last ChargesSettled did is in the current ones.
        logs = one.log_path.read_text() + two.log_path.read_text()
        assert '"parked calls applied' in logs
