"""The charging benchmark: one tick that makes N assignments due, measured end to end, beside
the physical ceiling of this machine (a plain producer, a plain bulk insert), in one run.

    uv run --with confluent-kafka==2.16.1 python bench/run.py --sizes 10000,100000,1000000 \
        --repeats 3 [--instances 2] [--profile DIR]

confluent-kafka (librdkafka's producer, measured beside aiokafka's) is not a dependency of the
project: without it that ceiling is skipped with a note. `--profile DIR`: py-spy (`uv run --with
py-spy ...`) samples each charger from the tick to the last acknowledgement, raw folded stacks
written to DIR (read them with bench/profile_stages.py).

Needs the local Kafka and PostgreSQL (`make infra-up`) or KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL.
Prints a table, writes bench/results/<time>.json and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

sys.path.insert(0, str(Path(__file__).parent))

from loader import START, load

from charger.bootstrap import MIGRATIONS
from pkgcontract import topics
from pkgcontract.messages import ClockTicked
from pkgshared import topic_admin
from pkgshared.db import SHARED_MIGRATIONS, create_pool, migrate
from pkgshared.runtime import Runtime
from pkgshared.settings import ServiceSettings
from pkgtools.testing.processes import ServiceProcess

ROOT = Path(__file__).resolve().parents[1]
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
DSN = os.environ.get(
    "DATABASE_URL", "postgresql://packages:packages@127.0.0.1:5432/packages?sslmode=disable"
)
KAFKA_DATA = ROOT / "deploy" / "local" / ".cache" / "kafka" / "data"
OUTPUTS = (topics.CREDIT_DEBITED, topics.FREE_MINUTES_GRANTED)
# docs/benchmarks.md from this line on is written by hand (the analysis) and kept as it is.
ANALYSIS = "<!-- analysis: kept by bench/run.py -->"


def log(text: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


async def end_offsets_total(runtime: Runtime, prefix: str) -> int:
    total = 0
    for topic in OUTPUTS:
        total += sum((await runtime.end_offsets(prefix + topic)).values())
    return total


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def topic_bytes(prefix: str) -> int:
    if not KAFKA_DATA.exists():
        return -1
    # Blocks actually used: index files are preallocated sparse files.
    return sum(
        f.stat().st_blocks * 512
        for d in KAFKA_DATA.iterdir()
        if d.name.startswith(prefix) and d.is_dir()
        for f in d.iterdir()
    )


async def charger_run(
    n: int, instances: int, log_dir: Path, profile: Path | None = None
) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    schema = prefix.strip(".")
    await topic_admin.create_topics(KAFKA, topics.with_prefix(prefix))
    pool = await create_pool(DSN, schema, max_size=2)
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    started = time.perf_counter()
    expected = await load(pool, n)
    log(
        f"loaded {n} assignments in {time.perf_counter() - started:.1f} s; "
        f"expecting {expected.messages} messages"
    )
    chargers = charger_processes(instances, prefix, schema, log_dir)
    runtime = Runtime(
        "bench", ServiceSettings(kafka_bootstrap_servers=KAFKA), None, None, None, None
    )  # type: ignore[arg-type]
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        tick = ClockTicked(
            tick_id=uuid.uuid4(), at=datetime.combine(START, datetime.min.time(), tzinfo=UTC)
        )
        samplers = sampled(chargers, profile, f"{n}-{instances}-{prefix.strip('.')}")
        t0 = time.perf_counter()
        await producer.send_and_wait(
            prefix + topics.CLOCK_TICKS,
            tick.to_json(),
            key=b"clock",
            headers=[("event_type", b"ClockTicked")],
        )
        done = 0
        last_report = t0
        while done < expected.messages:
            await asyncio.sleep(0.1)
            done = await end_offsets_total(runtime, prefix)
            if time.perf_counter() - last_report > 10:
                last_report = time.perf_counter()
                log(f"  {done}/{expected.messages} messages acknowledged")
            for p in chargers:
                if p.proc is not None and p.proc.poll() is not None:
                    raise RuntimeError(f"charger exited:\n{p.tail()}")
        seconds = time.perf_counter() - t0
        for sampler in samplers:
            sampler.send_signal(signal.SIGINT)
            sampler.wait(60)
        rss = max(peak_rss_mb(p.proc.pid) for p in chargers if p.proc is not None)
        async with pool.acquire() as conn:
            db_bytes = await conn.fetchval(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace s ON s.oid = c.relnamespace "
                "WHERE s.nspname = $1 AND c.relkind = 'r'",
                schema,
            )
            ledger = await conn.fetchval("SELECT count(*) FROM ledger")
        result = {
            "n": n,
            "instances": instances,
            "messages": expected.messages,
            "seconds": seconds,
            "messages_per_s": expected.messages / seconds,
            "charger_peak_rss_mb": rss,
            "db_bytes": int(db_bytes or 0),
            "topic_bytes": topic_bytes(prefix),
            "ledger_rows": ledger,
        }
        log(
            f"  charger: {result['messages']} messages in {seconds:.1f} s "
            f"({result['messages_per_s']:.0f}/s), peak RSS {rss:.0f} MB"
        )
        return result
    finally:
        for p in chargers:
            p.stop()
        await producer.stop()
        await runtime.close()
        await dropped(pool, schema, prefix)


def sampled(
    chargers: list[ServiceProcess], profile: Path | None, name: str
) -> list[subprocess.Popen[bytes]]:
    """py-spy sampling each charger (raw folded stacks in `profile`), when asked."""
    if profile is None:
        return []
    profile.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return [
        subprocess.Popen(
            [
                *(spy, "record", "--format", "raw", "--rate", "100", "--nonblocking"),
                *("-o", str(profile / f"{name}-{i}.txt"), "-p", str(p.proc.pid)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i, p in enumerate(chargers)
        if p.proc is not None
    ]


def charger_processes(
    instances: int, prefix: str, schema: str, log_dir: Path
) -> list[ServiceProcess]:
    """`instances` charger processes on the run's topics and schema, started and healthy."""
    chargers = []
    for i in range(instances):
        p = ServiceProcess(
            "charger",
            {
                "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
                "DATABASE_URL": DSN,
                "TOPIC_PREFIX": prefix,
                "DB_SCHEMA": schema,
                "CONSUMER_GROUP": f"{schema}-charger",
                "LOG_LEVEL": "INFO",
            },
            log_dir,
        )
        p.log_path = log_dir / f"charger-{schema}-{i}.log"
        chargers.append(p.start())
    for p in chargers:
        p.wait_healthy()
    return chargers


async def dropped(pool: Any, schema: str, prefix: str) -> None:
    """The run's schema and topics dropped, its pool closed."""
    async with pool.acquire() as conn:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await pool.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        await admin.delete_topics([s.name for s in topics.with_prefix(prefix)])
    finally:
        await admin.close()


async def producer_ceiling(n: int, size: int) -> float:
    """Messages per second of a plain idempotent acks=all producer, same count and size."""
    topic = f"bench-ceiling-{uuid.uuid4().hex[:8]}"
    await topic_admin.create_topics(KAFKA, (topics.TopicSpec(topic, 6),))
    producer = AIOKafkaProducer(
        bootstrap_servers=KAFKA,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    payload = b"x" * size
    try:
        t0 = time.perf_counter()
        pending = []
        for i in range(n):
            pending.append(await producer.send(topic, payload, key=f"bench-{i:07d}".encode()))
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        return n / (time.perf_counter() - t0)
    finally:
        await producer.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
        await admin.start()
        await admin.delete_topics([topic])
        await admin.close()


def librdkafka_ceiling(n: int, size: int) -> float | None:
    """Messages per second of librdkafka's producer (confluent-kafka), idempotent and acks=all,
    same count, size and keys as `producer_ceiling`; None when confluent-kafka is not installed
    (it is not a dependency of the project: `uv run --with confluent-kafka==2.16.1 ...`)."""
    try:
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic
    except ImportError:
        return None
    topic = f"bench-ceiling-rd-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": KAFKA})
    for future in admin.create_topics([NewTopic(topic, 6, 1)]).values():
        future.result()
    producer = Producer(
        {
            "bootstrap.servers": KAFKA,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "batch.size": 256 * 1024,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    payload = b"x" * size
    failed: list[object] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failed.append(err)

    try:
        t0 = time.perf_counter()
        for i in range(n):
            while True:
                try:
                    producer.produce(
                        topic, payload, key=f"bench-{i:07d}".encode(), on_delivery=delivered
                    )
                    break
                except BufferError:
                    producer.poll(0.01)
            if i % 1000 == 0:
                producer.poll(0)
        left = producer.flush(300)
        if left or failed:
            raise RuntimeError(f"librdkafka: {left} not delivered, errors {failed[:3]}")
        return n / (time.perf_counter() - t0)
    finally:
        for future in admin.delete_topics([topic]).values():
            with contextlib.suppress(Exception):
                future.result()


async def insert_ceiling(n: int) -> float:
    """Rows per second of a plain COPY of N ledger-shaped rows."""
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(
            "CREATE TEMP TABLE ceiling (charge_key text PRIMARY KEY, "
            "customer_id text, assignment_id uuid, kind text, status text, "
            "period_start date, amount numeric, currency text, minutes int, "
            "reason text)"
        )
        from decimal import Decimal

        rows = [
            (
                f"debit:{uuid.uuid4()}:2026-01-01",
                f"bench-{i:07d}",
                uuid.uuid4(),
                "recurring",
                "charged",
                START,
                Decimal("9.99"),
                "GBP",
                None,
                "scheduled",
            )
            for i in range(n)
        ]
        t0 = time.perf_counter()
        await conn.copy_records_to_table("ceiling", records=rows)
        return n / (time.perf_counter() - t0)
    finally:
        await conn.close()


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def write_report(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "# Charging benchmark",
        "",
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}: "
        f"{os.cpu_count()} cores, Kafka (KRaft, heap 768 MB) and PostgreSQL on the same machine.",
        "Command: `uv run --with confluent-kafka==2.16.1 python bench/run.py "
        f"--sizes {args.sizes} --repeats {args.repeats}"
        f" --instances {args.instances}` (medians of {args.repeats} runs).",
        "",
        "Each run: a fresh charger schema bulk-loaded with N assignments (bench/loader.py: one per"
        " customer, 1 in 4 at DID level, 1 in 5 daily, 1 in 5 free minutes, the rest monthly),"
        " the charger started, one ClockTicked that makes every assignment due; timed from"
        " sending the tick until the broker has acknowledged the last CreditDebited /"
        " FreeMinutesGranted (end offsets of the output topics).",
        "",
        "| N | chargers | messages | seconds | messages/s | vs aiokafka producer |"
        " vs librdkafka producer | vs plain COPY | peak RSS MB | DB MB | topics MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['n']:,} | {r['instances']} | {r['messages']:,} | {r['seconds']:.1f} | "
            f"{r['messages_per_s']:,.0f} | {r['vs_producer']:.2f} | "
            f"{_ratio(r['vs_librdkafka'])} | {r['vs_copy']:.2f} | "
            f"{r['charger_peak_rss_mb']:.0f} | {r['db_bytes'] / 2**20:.0f} | "
            + ("- |" if r["topic_bytes"] < 0 else f"{r['topic_bytes'] / 2**20:.0f} |")
        )
    lines += [
        "",
        "Ceilings measured in the same runs (medians; ratios are medians of each run's "
        "ratio): plain idempotent acks=all aiokafka producer, same count and message size "
        "(550 bytes); librdkafka's producer (confluent-kafka, idempotent, acks=all, linger 5 ms), "
        "the same records; plain asyncpg COPY of as many ledger-shaped rows.",
        "",
    ]
    for r in results:
        lines.append(
            f"- N = {r['n']:,}, {r['instances']} charger(s): aiokafka producer "
            f"{r['producer_per_s']:,.0f} messages/s, librdkafka producer "
            + (
                "not measured (confluent-kafka not installed)"
                if r["librdkafka_per_s"] is None
                else f"{r['librdkafka_per_s']:,.0f} messages/s"
            )
            + f", COPY {r['copy_per_s']:,.0f} rows/s"
        )
    return "\n".join(lines) + "\n"


async def main(args: argparse.Namespace) -> int:
    sizes = [int(s) for s in args.sizes.split(",")]
    log_dir = ROOT / "bench" / "results" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for n in sizes:
        for instances in sorted({1, args.instances}):
            runs = []
            for repeat in range(args.repeats):
                log(f"N={n} chargers={instances} run {repeat + 1}/{args.repeats}")
                run = await charger_run(n, instances, log_dir, args.profile)
                run["producer_per_s"] = await producer_ceiling(run["messages"], 550)
                run["librdkafka_per_s"] = await asyncio.to_thread(
                    librdkafka_ceiling, run["messages"], 550
                )
                log(
                    f"  producers: aiokafka {run['producer_per_s']:,.0f}/s, librdkafka "
                    + (
                        "not measured (confluent-kafka not installed)"
                        if run["librdkafka_per_s"] is None
                        else f"{run['librdkafka_per_s']:,.0f}/s"
                    )
                )
                run["copy_per_s"] = await insert_ceiling(n)
                runs.append(run)
            rd = [r for r in runs if r["librdkafka_per_s"] is not None]
            median = {
                k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "librdkafka_per_s"
            }
            median["librdkafka_per_s"] = (
                statistics.median(r["librdkafka_per_s"] for r in rd) if rd else None
            )
            median["vs_librdkafka"] = (
                statistics.median(r["messages_per_s"] / r["librdkafka_per_s"] for r in rd)
                if rd
                else None
            )
            median["vs_producer"] = statistics.median(
                r["messages_per_s"] / r["producer_per_s"] for r in runs
            )
            median["vs_copy"] = statistics.median(
                r["messages_per_s"] / r["copy_per_s"] for r in runs
            )
            median["runs"] = runs
            results.append(median)
    report = write_report(results, args)
    print(report)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"{stamp}.json").write_text(json.dumps(results, indent=2))
    doc = ROOT / "docs" / "benchmarks.md"
    kept = doc.read_text().partition(ANALYSIS)[2] if doc.exists() else ""
    doc.write_text(report + ("\n" + ANALYSIS + kept if kept else ""))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--profile", type=Path, default=None)
    sys.exit(asyncio.run(main(parser.parse_args())))
