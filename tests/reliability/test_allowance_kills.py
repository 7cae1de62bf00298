"""kill -9 of allowance instances at random moments while calls and reversals are read and
applied, two instances sharing the work (each kill is a rebalance: the survivor takes the
partitions over from their resume points, the restarted one takes some back). Grants roll
over (docs/contract.md §6 Rollover) and about a tenth of the calls are reversed, some twice,
some before their call, some of calls never read. After recovery every call and reversal is
applied once: each FreeMinutesUsed, FreeMinutesReturned, threshold alert and each grant's last
balance (rollover grants included) exactly what an independent reference of the rules predicts
(tests/allowance_reference.py), every event once by event_id, with some customers' calls
parked behind a call dated a year ahead.

The moments come from a seeded generator (CHAOS_SEED replays a run's choices)."""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from pathlib import Path

import asyncpg

from pkgtools.testing.system import started_system
from pkgtools.testing.waits import wait_until
from tests.allowance_load import FAR_AHEAD, send, settle
from tests.allowance_rollover_check import check_rollover, until_settled
from tests.allowance_rollover_load import LAST_SETTLED_AT, Message, rollover_workload

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


async def test_random_kills_of_two_instances_apply_every_call_and_reversal_once(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, figures: Counter[str]
) -> None:
    seed = int(os.environ.get("CHAOS_SEED", random.randrange(1_000_000)))
    print(f"CHAOS_SEED={seed}")
    rng = random.Random(seed)
    # A few calls dated more than a year ahead: their customers' calls are parked (to the
    # table, out of memory) while instances are killed, until the last ChargesSettled.
    want = rollover_workload(seed=seed, calls=4000, far=6)
    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        one = system.service("allowance", instance="a", APPLY_BATCH_CUSTOMERS="4")
        two = system.service("allowance", instance="b", APPLY_BATCH_CUSTOMERS="4")
        shared = {"DB_SCHEMA": one.env["DB_SCHEMA"], "CONSUMER_GROUP": "allowance"}
        for process in (one, two):
            process.env.update(shared)
            process.start()
        for process in (one, two):
            await asyncio.to_thread(process.wait_healthy)
        await send(system, want.grants)
        # Two rounds before the first ChargesSettled, four after its expiries are done (what
        # a late call or a reversal gets depends on whether its grant had expired).
        rounds = [_split(want.before, 2), _split(want.after, ROUNDS - 2)]
        for n, chunk in enumerate(rounds[0] + rounds[1]):
            await send(system, chunk)
            if n == 1:
                await settle(system)  # from here on, calls are applied as they are read
            # A random moment of reading or applying, not a condition to wait for.
            await asyncio.sleep(rng.uniform(0.0, 1.5))
            victim = rng.choice((one, two))
            victim.kill()
            figures["allowance instances killed"] += 1
            victim.start()
            if n == 1:
                await until_settled(system, want)
        # Every far call parked before the ChargesSettled that passes them (a kill in the last
        # round can leave one in memory until the restarted instance parks it).
        await _until_parked(database_url, one.env["DB_SCHEMA"], want.far_calls)
        await settle(system, LAST_SETTLED_AT)
        await check_rollover(system, want, timeout=300)
        figures["calls verified after random kills"] += len(want.model.used)
        figures["reversals verified after random kills"] += len(want.model.returned)
        figures["rollover grants verified after random kills"] += sum(
            1 for g in want.model.grants.values() if g.rolled_over_from
        )
        # A restart starts a new log: what the last ChargesSettled did is in the current ones.
        logs = one.log_path.read_text() + two.log_path.read_text()
        assert '"parked calls applied' in logs


def _split(messages: list[Message], parts: int) -> list[list[Message]]:
    step = len(messages) // parts + 1
    return [messages[n * step : (n + 1) * step] for n in range(parts)]
