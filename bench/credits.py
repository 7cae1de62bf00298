"""Credits on early ends (docs/contract.md §7): N prorated monthly assignments debited for January
by one tick, then one AssignmentEnded each (ending on 10 January), as the assignment service
publishes them; measured from the first AssignmentEnded sent to the N-th CreditIssued on
billing.credits-issued (the broker's end offsets), against one charger process.

    uv run python bench/credits.py [--n 100000] [--repeats 3]

Needs the local Kafka and PostgreSQL (`make infra-up`). Prints credits per second and writes
bench/results/credits-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).parent))

from run import DSN, KAFKA, ROOT, charger_processes, dropped, log

from charger.adapters.codec import version_from_defined
from charger.adapters.projections import ProjectionRepository
from charger.bootstrap import MIGRATIONS
from charger.domain.charges import next_due
from charger.domain.model import Assignment, Terms
from pkgcontract import topics
from pkgcontract.messages import AssignmentEnded, ClockTicked, PackageDefined
from pkgshared import topic_admin
from pkgshared.db import SHARED_MIGRATIONS, create_pool, migrate
from pkgshared.runtime import Runtime
from pkgshared.settings import ServiceSettings
from pkgtools.testing.waits import wait_until

START = date(2026, 1, 1)
END = date(2026, 1, 10)

PRORATED = PackageDefined(
    package_id="bench-prorated",
    version=1,
    name="prorated",
    kind="recurring",
    retail=Decimal("31.00"),
    currency="GBP",
    frequency="monthly",
    frequency_match=[1],
    effective_from=None,
    proration="daily",
)


async def _load(pool: Any, n: int) -> list[Assignment]:
    versions = [version_from_defined(PRORATED)]
    out = []
    async with pool.acquire() as conn:
        repository = ProjectionRepository(conn)
        await repository.copy_versions([PRORATED])
        batch = []
        for i in range(n):
            a = Assignment(
                assignment_id=uuid.uuid4(),
                customer_id=f"credit-{i:07d}",
                did=None,
                package_id=PRORATED.package_id,
                start_date=START,
                end_date=None,
                timezone="UTC",
                terms=(Terms(None, 1, True, None),),
            )
            out.append(a)
            batch.append((a, next_due(a, versions, None, False)))
            if len(batch) == 50_000:
                await repository.copy_assignments(batch)
                batch = []
        await repository.copy_assignments(batch)
        await conn.execute("ANALYZE")
    return out


async def _total(runtime: Runtime, topic: str) -> int:
    return sum((await runtime.end_offsets(topic)).values())


async def one_run(n: int, log_dir: Path) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    schema = prefix.strip(".")
    await topic_admin.create_topics(KAFKA, topics.with_prefix(prefix))
    pool = await create_pool(DSN, schema, max_size=2)
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    assignments = await _load(pool, n)
    runtime = Runtime(
        "bench", ServiceSettings(kafka_bootstrap_servers=KAFKA), None, None, None, None
    )  # type: ignore[arg-type]
    producer = AIOKafkaProducer(
        bootstrap_servers=KAFKA, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    chargers = charger_processes(1, prefix, schema, log_dir)
    try:
        tick = ClockTicked(tick_id=uuid.uuid4(), at=datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))
        await producer.send_and_wait(
            prefix + topics.CLOCK_TICKS,
            tick.to_json(),
            key=b"clock",
            headers=[("event_type", b"ClockTicked")],
        )

        async def debited() -> bool:
            return await _total(runtime, prefix + topics.CREDIT_DEBITED) >= n

        await wait_until(debited, f"{n} January debits", timeout=1800, every=0.2)
        log(f"  {n} January debits made; ending every assignment on {END}")
        t0 = time.perf_counter()
        pending = []
        for a in assignments:
            ended = AssignmentEnded(
                assignment_id=a.assignment_id,
                customer_id=a.customer_id,
                package_id=a.package_id,
                end_date=END,
            )
            pending.append(
                await producer.send(
                    prefix + topics.ASSIGNMENT_EVENTS,
                    ended.to_json(),
                    key=a.customer_id.encode(),
                    headers=[("event_type", b"AssignmentEnded")],
                )
            )
        await asyncio.gather(*pending)
        sent = time.perf_counter() - t0

        async def credited() -> bool:
            for p in chargers:
                if p.proc is not None and p.proc.poll() is not None:
                    raise RuntimeError(f"charger exited:\n{p.tail()}")
            return await _total(runtime, prefix + topics.CREDITS_ISSUED) >= n

        await wait_until(credited, f"{n} CreditIssued", timeout=1800, every=0.1)
        seconds = time.perf_counter() - t0
        done = await _total(runtime, prefix + topics.CREDITS_ISSUED)
        result = {
            "n": n,
            "credits": done,
            "sending_seconds": round(sent, 2),
            "seconds": round(seconds, 2),
            "credits_per_s": round(n / seconds),
        }
        log(f"  {n} credits in {seconds:.1f} s: {result['credits_per_s']}/s")
        return result
    finally:
        for p in chargers:
            p.stop()
        await producer.stop()
        await runtime.close()
        await dropped(pool, schema, prefix)


async def main(args: argparse.Namespace) -> int:
    log_dir = ROOT / "bench" / "results" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    runs = [await one_run(args.n, log_dir) for _ in range(args.repeats)]
    median = statistics.median(r["credits_per_s"] for r in runs)
    print(f"credits on early ends: median {median:.0f}/s over {len(runs)} runs of {args.n}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = ROOT / "bench" / "results" / f"credits-{stamp}.json"
    path.write_text(json.dumps({"runs": runs, "median_credits_per_s": median}, indent=2))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    sys.exit(asyncio.run(main(parser.parse_args())))
