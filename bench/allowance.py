"""The allowance benchmark: how many calls a second the allowance service applies, with
`--grants` active grants over `--customers` customers, beside the plain producer's ceiling,
measured in one run on this machine.

    uv run python bench/allowance.py [--calls 100000] [--repeats 3] [--hold-seconds 60]
        [--instances 1] [--reversed-percent 10 --rollover-half]

The service is started alone on topics of its own; the grants are written to its grants topic
and a first ChargesSettled to charger.progress. Capacity, as the contract has calls wait for
the charger: the service is stopped, a backlog of `--calls` calls that occurred after the
settled moment is written, the service is started and reads them all (they wait), then a
ChargesSettled after them is written and they are applied; capacity = calls / (reading time +
applying time), with the CPU of each process meanwhile. Then half of that is offered for
`--hold-seconds` with a ChargesSettled every second: held when at least 0.95 of the calls
offered were applied within the run.

Bounds measured in the same run: after each capacity run, the client's I/O floor (the same
calls read and two event-sized records published for each, with no PostgreSQL and no covering:
`io_floor`) and librdkafka's producer publishing those records (bench/librdkafka_floor.py:
`uv run --frozen --with confluent-kafka==2.16.1 python bench/allowance.py ...`; skipped with a
note without it), and first how much more work two busy processes do than one
(`parallel_speedup`).

With `--reversed-percent` or `--rollover-half`, each plain repeat is followed by one with that
share of the calls reversed and rollover on half the grants (bench/allowance_mixed.py), each
with its own floors: the table gives both, and the file both (`mixed`).

Needs the local Kafka and PostgreSQL (`make infra-up`) or KAFKA_BOOTSTRAP_SERVERS /
DATABASE_URL. Prints a table and writes bench/results/allowance-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).parent))

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from allowance_mixed import MixedRun, mixed_summary
from librdkafka_floor import available as librdkafka_available
from librdkafka_floor import librdkafka_floor
from stream import (
    DSN,
    KAFKA,
    cpu_seconds,
    log,
    parallel_speedup,
    pids_named,
    plain_producer,
    producer_ceiling,
)

from pkgcontract import topics
from pkgshared import topic_admin
from pkgshared.kafka import BatchPublisher
from pkgshared.offsets import EndOffsets
from pkgtools.testing.system import System, command, started_system

ROOT = Path(__file__).resolve().parents[1]
WINDOW_FROM = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_UNTIL = datetime(2026, 2, 1, tzinfo=UTC)
SETTLED_AT = datetime(2026, 1, 5, tzinfo=UTC)  # every later tick stays in the grants' window


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class AllowanceBench:
    def __init__(self, system: System, customers: int, grants: int) -> None:
        self.system = system
        self.ends = EndOffsets(KAFKA, "allowance-bench")
        self.customers = [f"a{n:06d}" for n in range(customers)]
        self.grants_per_customer = max(1, grants // customers)
        self.horizon = SETTLED_AT
        self.grant_ids: list[str] = []

    @property
    def schema(self) -> str:
        return self.system.services["allowance"].env["DB_SCHEMA"]

    def processes(self) -> dict[str, list[int]]:
        out = {name: [p.proc.pid] for name, p in self.system.services.items() if p.proc is not None}
        out["kafka"] = pids_named("java")
        out["postgres"] = pids_named("postgres")
        return out

    def grant_records(self) -> list[tuple[str, str, bytes]]:
        out = []
        prefixes = [[], ["44"], ["4420"], ["91"], ["1"]]
        for n, customer in enumerate(self.customers):
            for g in range(self.grants_per_customer):
                grant_id = str(uuid.uuid4())
                self.grant_ids.append(grant_id)
                body = command(
                    "FreeMinutesGranted",
                    event_id=grant_id,
                    grant_id=grant_id,
                    customer_id=customer,
                    did=None if g % 3 else f"44{n:09d}",
                    assignment_id=str(uuid.uuid4()),
                    package_id="bench",
                    minutes=100_000,  # the calls never use a grant up: every call is covered
                    destination_prefixes=prefixes[g % len(prefixes)],
                    valid_from=_instant(WINDOW_FROM),
                    valid_until=_instant(WINDOW_UNTIL),
                )
                out.append((topics.FREE_MINUTES_GRANTED, customer, json.dumps(body).encode()))
        return out

    def call(self, n: int, at: datetime) -> tuple[str, str, bytes]:
        customer = self.customers[n % len(self.customers)]
        body = command(
            "UsageRated",
            usage_id=str(uuid.uuid4()),
            customer_id=customer,
            did=None,
            amount="0.120000",
            currency="GBP",
            destination="442071234567",
            duration_seconds=60,
        ) | {"occurred_at": _instant(at)}
        return topics.USAGE_RATED, customer, json.dumps(body).encode()

    def backlog(self, n: int) -> list[tuple[str, str, bytes]]:
        """`n` calls that occurred in the hour after the settled moment (they wait)."""
        return [self.call(i, self.horizon + timedelta(seconds=1 + i % 3600)) for i in range(n)]

    async def settle(self, producer: Any, at: datetime) -> None:
        settled = command("ChargesSettled", tick_id=str(uuid.uuid4()), at=_instant(at))
        await self.send(
            producer, [(topics.CHARGER_PROGRESS, "clock", json.dumps(settled).encode())]
        )
        self.horizon = at

    async def send(self, producer: Any, records: list[tuple[str, str, bytes]]) -> None:
        pending = [
            await producer.send(self.system.topic(t), value, key=key.encode())
            for t, key, value in records
        ]
        await asyncio.gather(*pending)

    async def count(self, sql: str) -> int:
        conn = await asyncpg.connect(DSN)
        try:
            return int(await conn.fetchval(sql.format(schema=self.schema)))
        finally:
            await conn.close()

    async def vacuum(self) -> float:
        """VACUUM (ANALYZE) of the tables the calls touch, before a capacity run: each run
        starts from a settled database (the mixed runs write a cohort of grants just before
        theirs; without this, autovacuum of that insert fell inside their measured window
        only). Returns how long it took (not in the run's time)."""
        began = time.monotonic()
        conn = await asyncpg.connect(DSN)
        try:
            for table in ("grants", "applied_calls", "covered_calls"):
                await conn.execute(f"VACUUM (ANALYZE) {self.schema}.{table}")
        finally:
            await conn.close()
        return round(time.monotonic() - began, 2)

    async def maintenance(self) -> dict[str, int]:
        """Autovacuum and autoanalyze runs so far, by table of the service's schema."""
        conn = await asyncpg.connect(DSN)
        try:
            rows = await conn.fetch(
                "SELECT relname, autovacuum_count + autoanalyze_count AS n "
                "FROM pg_stat_user_tables WHERE schemaname = $1",
                self.schema,
            )
        finally:
            await conn.close()
        return {r["relname"]: int(r["n"]) for r in rows}

    async def applied(self) -> int:
        return await self.count("SELECT count(*) FROM {schema}.applied_calls")

    async def read(self) -> int:
        """Calls applied, and waiting in the service's memory (its metrics)."""
        return await self.applied() + await asyncio.to_thread(self.waiting)

    def waiting(self) -> int:
        """Calls waiting in every instance's memory (each holds its partitions' calls)."""
        total = 0
        for service in self.instances():
            try:
                url = f"http://127.0.0.1:{service.port}/metrics"
                with urllib.request.urlopen(url, timeout=5) as r:
                    text = r.read().decode()
            except OSError:
                continue  # not started yet
            found = re.search(r"^allowance_calls_waiting (\S+)$", text, re.M)
            total += int(float(found.group(1))) if found else 0
        return total

    def instances(self) -> list[Any]:
        return [p for name, p in self.system.services.items() if name.startswith("allowance")]

    async def used_published(self) -> int:
        """FreeMinutesUsed on Kafka (every call here is covered: one each)."""
        ends = await self.ends(self.system.topic(topics.FREE_MINUTES_USED))
        return sum(ends.values())

    async def wait_for(self, sql: str, at_least: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while await self.count(sql) < at_least:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{sql}: not {at_least} after {timeout} s")
            await asyncio.sleep(0.2)

    async def _until(self, what: Any, target: int, since: float) -> float:
        while await what() < target:
            if time.monotonic() - since > 900:
                raise RuntimeError(f"{what.__name__}: not {target} after 900 s")
            await asyncio.sleep(0.1)
        return time.monotonic()

    async def capacity(
        self, producer: Any, n: int, calls: list[Any] | None = None, done: Any = None
    ) -> dict[str, Any]:
        """A backlog of `n` calls that occurred after the settled moment (they must wait, as
        calls do between ticks), read; then a ChargesSettled after them, and applied. `calls`:
        another backlog of `n` calls (with reversals among them); `done`: what else to wait
        for once they are applied."""
        instances = self.instances()
        # What the service still has to publish (a cohort's grants' first balances, an
        # expiry's) is published before the run, not by the process started for it.
        await self.wait_for("SELECT -coalesce(sum(n), 0) FROM {schema}.outbox_batches", 0, 600)
        read_before, applied_before = await self.read(), await self.applied()
        used_before = await self.used_published()
        for service in instances:
            service.stop()
        vacuum_seconds = await self.vacuum()
        maintenance_before = await self.maintenance()
        start = self.horizon
        calls = calls or self.backlog(n)
        sent_at = time.monotonic()
        await self.send(producer, calls)
        produce_seconds = time.monotonic() - sent_at
        for service in instances:
            service.start()
        began = await self._until(self.read, read_before + 1, sent_at)
        cpu_before = {k: cpu_seconds(v) for k, v in self.processes().items()}
        read_at = await self._until(self.read, read_before + n, sent_at)
        await self.settle(producer, start + timedelta(hours=2))
        settled_at = time.monotonic()
        done_at = await self._until(self.applied, applied_before + n, sent_at)
        if done is not None:
            await done()
            done_at = time.monotonic()
        published_at = await self._until(self.used_published, used_before + n, sent_at)
        for service in instances:
            await asyncio.to_thread(service.wait_healthy)
        seconds = max(read_at - began + done_at - settled_at, 0.1)
        to_kafka = max(read_at - began + published_at - settled_at, 0.1)
        cpu = {
            k: round(cpu_seconds(v) - cpu_before.get(k, 0.0), 2)
            for k, v in self.processes().items()
        }
        maintenance = await self.maintenance()
        return {
            "vacuum_seconds": vacuum_seconds,
            "autovacuum_during": {
                k: v - maintenance_before.get(k, 0) for k, v in maintenance.items() if v
            },
            "calls": n,
            "read_per_s": round(n / max(read_at - began, 0.1)),
            "apply_per_s": round(n / max(done_at - settled_at, 0.1)),
            "seconds": round(seconds, 2),
            "per_s": round(n / seconds),
            "published_per_s": round(n / to_kafka),
            "produce_seconds": round(produce_seconds, 2),
            "cpu_seconds": cpu,
            "cpu_share_of_a_core": {k: round(v / (done_at - began), 2) for k, v in cpu.items()},
        }

    async def io_floor(self, producer: Any, n: int) -> dict[str, Any]:
        """The least any service on this client must do for `n` calls: read them from a topic
        partitioned as usage.rated, parse each, and publish two records sized as the
        service's FreeMinutesUsed (560 bytes) and AllowanceBalance (500), keyed by customer
        and by grant, with the relay's BatchPublisher and producer. No PostgreSQL, no
        covering, no ids: an upper bound for the service's capacity, measured in this run."""
        name = f"bench.floor-{uuid.uuid4().hex[:6]}"
        source, sink = self.system.topic(name), self.system.topic(name + "-out")
        partitions = topics.partitions_of(topics.USAGE_RATED)
        await topic_admin.create_topics(
            KAFKA, (topics.TopicSpec(source, partitions), topics.TopicSpec(sink, partitions))
        )
        await self.send(producer, [(name, key, value) for _, key, value in self.backlog(n)])
        consumer = AIOKafkaConsumer(
            bootstrap_servers=KAFKA, enable_auto_commit=False, max_partition_fetch_bytes=4 << 20
        )
        await consumer.start()
        try:
            parts = [TopicPartition(source, p) for p in range(partitions)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            publish = BatchPublisher(producer)
            used, balance = b"u" * 560, b"b" * 500
            headers = [("event_type", b"FreeMinutesUsed")]
            grants = [g.encode() for g in self.grant_ids] or [b"grant"]
            kafka = pids_named("java")
            cpu_before, kafka_before = time.process_time(), cpu_seconds(kafka)
            began = time.monotonic()
            seen = 0
            while seen < n:
                polled = await consumer.getmany(timeout_ms=1000, max_records=5000)
                out = []
                for records in polled.values():
                    for record in records:
                        call = json.loads(record.value)
                        out.append((sink, call["customer_id"].encode(), used, headers))
                        out.append((sink, grants[seen % len(grants)], balance, headers))
                        seen += 1
                await publish(out)
            seconds = time.monotonic() - began
            python = time.process_time() - cpu_before
            broker = cpu_seconds(kafka) - kafka_before
        finally:
            await consumer.stop()
        return {
            "per_s": round(n / seconds),
            "python_us_per_call": round(1e6 * python / n, 1),
            "kafka_us_per_call": round(1e6 * broker / n, 1),
        }

    async def floors(self, producer: Any, run: dict[str, Any]) -> dict[str, Any]:
        """`run` with the two floors measured right after it: aiokafka's I/O floor and
        librdkafka's producer floor (None without confluent-kafka), and its ratio to each."""
        n = run["calls"]
        run["io_floor"] = await self.io_floor(producer, n)
        run["of_io_floor"] = round(run["per_s"] / run["io_floor"]["per_s"], 3)
        name = self.system.topic(f"bench.rdfloor-{uuid.uuid4().hex[:6]}")
        floor = None
        if librdkafka_available():
            await topic_admin.create_topics(
                KAFKA, (topics.TopicSpec(name, topics.partitions_of(topics.USAGE_RATED)),)
            )
            floor = await asyncio.to_thread(
                librdkafka_floor,
                KAFKA,
                name,
                [c.encode() for c in self.customers],
                [g.encode() for g in self.grant_ids] or [b"grant"],
                n,
            )
        run["librdkafka_floor"] = floor
        run["of_librdkafka_floor"] = round(run["per_s"] / floor["per_s"], 3) if floor else None
        return run

    async def hold(self, producer: Any, rate: int, seconds: int) -> dict[str, Any]:
        """Offer `rate` calls/s for `seconds`, a ChargesSettled after each second's calls
        (a tick a second): the share applied within the run."""
        before = await self.applied()
        started = time.monotonic()
        sent = 0
        second = 0
        base = self.horizon
        while time.monotonic() - started < seconds:
            second += 1
            due = int(second * rate)
            moment = base + timedelta(seconds=second)
            await self.send(
                producer,
                [self.call(i, moment - timedelta(milliseconds=500)) for i in range(sent, due)],
            )
            sent = due
            await self.settle(producer, moment)
            await asyncio.sleep(max(0.0, started + second - time.monotonic()))
        applied = await self.applied() - before
        return {
            "offered_per_s": rate,
            "seconds": seconds,
            "sent": sent,
            "held_share": round(applied / sent, 3) if sent else None,
        }


def _librdkafka_medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    measured = [r for r in runs if r["librdkafka_floor"] is not None]
    if not measured:
        return {"librdkafka_floor_per_s": None, "of_librdkafka_floor": None}
    return {
        "librdkafka_floor_per_s": statistics.median(
            r["librdkafka_floor"]["per_s"] for r in measured
        ),
        "of_librdkafka_floor": statistics.median(r["of_librdkafka_floor"] for r in measured),
    }


def _of_librdkafka(results: dict[str, Any]) -> str:
    if results["librdkafka_floor_per_s"] is None:
        return "not measured (confluent-kafka not installed: uv run --with confluent-kafka==2.16.1)"
    return f"{results['librdkafka_floor_per_s']:.0f}/s ({results['of_librdkafka_floor']})"


async def main(args: argparse.Namespace) -> int:
    logdir = Path(tempfile.mkdtemp(prefix="allowance-bench-"))
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(),
        "calls": args.calls,
        "customers": args.customers,
        "grants": args.grants,
        "instances": args.instances,
        "runs": [],
        "parallel": parallel_speedup(),
    }
    log(f"two busy processes against one: {results['parallel']}")
    async with started_system(KAFKA, DSN, logdir, "allowance") as system:
        bench = AllowanceBench(system, args.customers, args.grants)
        first = system.services["allowance"]
        for n in range(1, args.instances):
            # Same schema, same consumer group: the instances share usage.rated's partitions.
            system.service("allowance", instance=f"-{n}", DB_SCHEMA=first.env["DB_SCHEMA"])
            system.services[f"allowance-{n}"].start().wait_healthy()
        producer = plain_producer(KAFKA)
        await producer.start()
        try:
            ceiling = [
                await producer_ceiling(KAFKA, system.topic(topics.CHARGER_EVENTS), 100_000)
                for _ in range(args.repeats)
            ]
            results["plain_producer_per_s"] = round(statistics.median(ceiling))
            grants = bench.grant_records()
            await bench.send(producer, grants)
            await bench.settle(producer, SETTLED_AT)
            await bench.wait_for("SELECT count(*) FROM {schema}.grants", len(grants), 600)
            await bench.wait_for("SELECT count(*) FROM {schema}.horizon", 1, 120)
            log(f"{len(grants)} grants over {args.customers} customers read; horizon set")
            mixed = (
                MixedRun(bench, args.reversed_percent, args.rollover_half)
                if args.reversed_percent or args.rollover_half
                else None
            )
            mixed_runs: list[dict[str, Any]] = []
            for _ in range(args.repeats):
                # Each capacity run is paired with the floors measured right after it (the
                # machine's speed moves by the minute, their ratio much less), and each plain
                # run with a mixed one right after it: both see the same database and machine
                # (all plain runs first made the mixed ones pay for the tables grown since).
                run = await bench.floors(producer, await bench.capacity(producer, args.calls))
                results["runs"].append(run)
                log(
                    f"capacity: {run['per_s']} calls/s ({run['read_per_s']}/s read, "
                    f"{run['apply_per_s']}/s applied once settled; "
                    f"{run['published_per_s']}/s counted to FreeMinutesUsed on Kafka); "
                    f"I/O floor {run['io_floor']}, capacity / floor {run['of_io_floor']}; "
                    f"librdkafka floor {run['librdkafka_floor']}, capacity / it "
                    f"{run['of_librdkafka_floor']}"
                )
                if mixed is not None:
                    mixed_runs.append(
                        await bench.floors(
                            producer, await mixed.run(producer, args.calls, _instant(WINDOW_FROM))
                        )
                    )
                    log(mixed.line(mixed_runs[-1]))
            results["io_floor_per_s"] = statistics.median(
                r["io_floor"]["per_s"] for r in results["runs"]
            )
            results["of_io_floor"] = statistics.median(r["of_io_floor"] for r in results["runs"])
            results |= _librdkafka_medians(results["runs"])
            capacity = statistics.median(r["per_s"] for r in results["runs"])
            results["published_capacity_per_s"] = statistics.median(
                r["published_per_s"] for r in results["runs"]
            )
            results["capacity_per_s"] = capacity
            if mixed is not None:
                results["mixed"] = mixed_summary(mixed_runs) | _librdkafka_medians(mixed_runs)
            if args.hold_seconds:
                rate = max(1, int(capacity * args.hold_fraction))
                results["hold"] = await bench.hold(producer, rate, args.hold_seconds)
                log(f"offered {rate}/s for {args.hold_seconds} s: {results['hold']}")
        finally:
            await producer.stop()
            await bench.ends.close()
    out = ROOT / "bench" / "results" / f"allowance-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    run = results["runs"][len(results["runs"]) // 2]
    cpu = ", ".join(f"{k} {v}" for k, v in run["cpu_share_of_a_core"].items() if v)
    hold = results.get("hold") or {}
    print(
        f"\n| calls applied/s (median of {args.repeats}) | the same, to FreeMinutesUsed on "
        f"Kafka | CPU share of a core | held at {args.hold_fraction:.0%} | plain producer | "
        f"I/O floor (capacity / floor) | librdkafka floor (capacity / it) | two processes / one "
        f"|\n|---|---|---|---|---|---|---|---|\n"
        f"| {capacity:.0f} | {results['published_capacity_per_s']:.0f} | {cpu} | "
        f"{hold.get('offered_per_s', '-')}/s: "
        f"{hold.get('held_share', '-')} | {results['plain_producer_per_s']}/s | "
        f"{results['io_floor_per_s']:.0f}/s ({results['of_io_floor']}) | "
        f"{_of_librdkafka(results)} | "
        f"{results['parallel']['speedup']} ({results['parallel']['speedup_over_fastest_one']} "
        "against the fastest one) |"
    )
    if "mixed" in results:
        mixed = results["mixed"]
        print(
            f"\nwith {args.reversed_percent:g} % of the calls reversed"
            f"{' and rollover on half the grants' if args.rollover_half else ''}: "
            f"{mixed['capacity_per_s']:.0f} calls/s, {mixed['of_io_floor']:.3f} of its I/O "
            f"floor ({mixed['io_floor_per_s']:.0f}/s), librdkafka floor {_of_librdkafka(mixed)}; "
            f"without them {capacity:.0f} calls/s, {results['of_io_floor']:.3f} of its floor, "
            f"librdkafka floor {_of_librdkafka(results)}; the expiry with rollovers after the "
            f"calls {mixed['expiry_seconds']} s ({mixed['per_s_with_expiry']:.0f} calls/s with it)"
        )
    print(f"written {out}")
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--grants", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--instances", type=int, default=1, help="allowance processes sharing the work"
    )
    parser.add_argument("--hold-seconds", type=int, default=60)
    parser.add_argument("--hold-fraction", type=float, default=0.5)
    parser.add_argument(
        "--reversed-percent",
        type=float,
        default=0.0,
        help="also runs with this share of the calls reversed (bench/allowance_mixed.py)",
    )
    parser.add_argument(
        "--rollover-half",
        action="store_true",
        help="in those runs, half the grants roll over (50 %%, 30 days) as they expire",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
