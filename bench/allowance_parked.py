"""The allowance's parked path: how fast calls far past the settled moment are parked (moved
from memory to the `parked_calls` table with their customers' calls), and how fast they are
applied from there once the charger settles them, through the apply worker and PostgreSQL.

    uv run python bench/allowance_parked.py [--calls 100000] [--customers 10000] [--repeats 3]

Each run: a scratch schema with `--customers` customers of ten grants each (as
bench/allowance.py), `--calls` calls dated 39 days past the settled moment held in memory
(so all are parked: PARK_AHEAD is a day), the worker drained; then the settled moment moved
past them and the worker drained again. No Kafka: the events stay in the outbox. Prints the
medians and writes bench/results/allowance-parked-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

# bench/allowance.py would hide the allowance package: the service's modules are imported
# with this folder out of the path, the benchmark helpers after it is put back (last).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from allowance.adapters.checkpoint import CallsCheckpoint  # noqa: E402
from allowance.adapters.repository import AllowanceRepository  # noqa: E402
from allowance.adapters.waiting import WaitingCalls  # noqa: E402
from allowance.bootstrap import MIGRATIONS  # noqa: E402
from allowance.domain.model import Call, Grant  # noqa: E402
from pkgshared.db import SHARED_MIGRATIONS, create_pool, migrate  # noqa: E402

sys.path.append(str(_HERE))
from stream import DSN, ROOT, log  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PREFIXES = [(), ("44",), ("4420",), ("91",), ("1",)]


async def one_run(calls: int, customers: int) -> dict[str, Any]:
    schema = f"bench_parked_{uuid.uuid4().hex[:8]}"
    pool = await create_pool(DSN, schema)
    try:
        await migrate(pool, SHARED_MIGRATIONS, "shared")
        await migrate(pool, MIGRATIONS)
        grants = [
            Grant(
                uuid.uuid4(),
                f"c{c:05d}",
                None,
                uuid.uuid4(),
                PREFIXES[g % len(PREFIXES)],
                T0,
                T0 + timedelta(days=400),
                6_000_000,
            )
            for c in range(customers)
            for g in range(10)
        ]
        async with pool.acquire() as conn:
            await AllowanceRepository(conn).add_grants(grants)
            await conn.execute(
                "INSERT INTO horizon (id, settled_at, tick_id) VALUES (1, $1, $2)",
                T0 + timedelta(days=1),
                uuid.uuid4(),
            )
        waiting = WaitingCalls()
        waiting.start(0, 0)
        for i in range(calls):
            at = T0 + timedelta(days=40, seconds=i)
            call = Call(
                uuid.uuid4(), f"c{i % customers:05d}", None, "442071234567", at, 60,
                Decimal("0.12"), "GBP",
            )  # fmt: skip
            waiting.add(0, i, call)
        worker = CallsCheckpoint(pool, None, lambda _: None, waiting=waiting)
        started = time.perf_counter()
        await worker.drain()
        parked_s = time.perf_counter() - started
        async with pool.acquire() as conn:
            parked = await conn.fetchval("SELECT count(*) FROM parked_calls")
            await conn.execute("UPDATE horizon SET settled_at = $1", T0 + timedelta(days=100))
        started = time.perf_counter()
        await worker.drain()
        applied_s = time.perf_counter() - started
        async with pool.acquire() as conn:
            applied = await conn.fetchval("SELECT count(*) FROM applied_calls")
            left = await conn.fetchval("SELECT count(*) FROM parked_calls")
        if parked != calls or applied != calls or left:
            raise AssertionError(f"parked {parked}, applied {applied}, left {left} of {calls}")
        return {
            "parked_per_s": round(calls / parked_s),
            "applied_from_table_per_s": round(calls / applied_s),
            "parked_seconds": round(parked_s, 2),
            "applied_seconds": round(applied_s, 2),
        }
    finally:
        await pool.close()
        admin = await asyncpg.connect(DSN)
        try:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await admin.close()


async def main(args: argparse.Namespace) -> int:
    runs = []
    for _ in range(args.repeats):
        runs.append(await one_run(args.calls, args.customers))
        log(f"parked path: {runs[-1]}")
    results = {
        "when": datetime.now(UTC).isoformat(),
        "calls": args.calls,
        "customers": args.customers,
        "runs": runs,
        "parked_per_s": statistics.median(r["parked_per_s"] for r in runs),
        "applied_from_table_per_s": statistics.median(r["applied_from_table_per_s"] for r in runs),
    }
    out = ROOT / "bench" / "results" / f"allowance-parked-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"\nparked {results['parked_per_s']} calls/s, applied from the table "
        f"{results['applied_from_table_per_s']} calls/s (medians of {args.repeats})"
    )
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    sys.exit(asyncio.run(main(parser.parse_args())))
