"""The stream benchmark: how many records a second each input is handled at, beside the plain
producer's ceiling, measured in one run on this machine.

    uv run python bench/stream.py [--records 60000] [--hold-seconds 60] [--repeats 3]

For each input, the services that read it are stopped, a backlog of `--records` is written,
and they are started again: the capacity is the backlog divided by the time from the first
record handled to the last (consumer lag sampled every 0.1 s), with the CPU each process
used meanwhile. Then a steady rate of half that capacity is offered for `--hold-seconds`
(paced every 100 ms): held when at least 0.95 of it was handled within the run and the lag
did not grow. Inputs:
- usage.rated, read by the charger (minimum spend);
- assignment.commands through the assignment service, and the PackageAssigned it writes
  projected by the charger;
- catalog.commands through the catalog service.

Needs the local Kafka and PostgreSQL (`make infra-up`) or KAFKA_BOOTSTRAP_SERVERS /
DATABASE_URL. Prints a table and writes bench/results/stream-<time>.json; the figures in
docs/benchmarks.md come from it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from pkgcontract import topics
from pkgtools.testing.lag import consumer_lag
from pkgtools.testing.system import System, command, define_package, started_system

ROOT = Path(__file__).resolve().parents[1]
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
DSN = os.environ.get(
    "DATABASE_URL", "postgresql://packages:packages@127.0.0.1:5432/packages?sslmode=disable"
)
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def log(text: str) -> None:
    print(f"[stream {datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of `pids` so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS_PER_S


_SPIN = "x = 0\nfor i in range(3_000_000):\n    x += hash(str(i)) & 7\n"


def _spin(processes: int) -> float:
    """Seconds `processes` copies of one fixed piece of pure-Python work take, run together."""
    started = time.monotonic()
    running = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(processes)]
    for proc in running:
        proc.wait()
    return time.monotonic() - started


def parallel_speedup(rounds: int = 5) -> dict[str, Any]:
    """How much more pure-Python work this machine does with two processes busy than with
    one (2.0 for two real cores), from `rounds` interleaved pairs: the services, Kafka and
    PostgreSQL share the machine's cores, and on a virtual machine a second vCPU may add
    much less than a core, or a lone process may run faster than each of two."""
    one, two = [], []
    for _ in range(rounds):
        one.append(round(_spin(1), 2))
        two.append(round(_spin(2), 2))
    return {
        "one_process_seconds": one,
        "two_processes_seconds": two,
        "speedup": round(statistics.median(2 * a / b for a, b in zip(one, two, strict=True)), 2),
        "speedup_over_fastest_one": round(2 * min(one) / statistics.median(two), 2),
    }


def pids_named(name: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


class Bench:
    def __init__(self, system: System, package_id: str) -> None:
        self.system = system
        self.package_id = package_id
        self.customers = [f"s{n:05d}" for n in range(10_000)]
        self.run = uuid.uuid4().hex[:6]

    def processes(self) -> dict[str, list[int]]:
        out = {name: [p.proc.pid] for name, p in self.system.services.items() if p.proc is not None}
        out["kafka"] = [p for p in pids_named("java")]
        out["postgres"] = pids_named("postgres")
        return out

    def usage(self, n: int) -> tuple[str, str, bytes]:
        customer = self.customers[n % len(self.customers)]
        body = command(
            "UsageRated",
            usage_id=str(uuid.uuid4()),
            customer_id=customer,
            amount="0.0125",
            currency="GBP",
            destination="442071234567",
            duration_seconds=60,
        ) | {"occurred_at": "2026-01-01T10:00:00Z"}
        return topics.USAGE_RATED, customer, json.dumps(body).encode()

    def assignment(self, n: int) -> tuple[str, str, bytes]:
        customer = self.customers[n % len(self.customers)]
        body = command(
            "AssignPackage",
            assignment_id=str(uuid.uuid4()),
            customer_id=customer,
            package_id=self.package_id,
            quantity=1,
            start_date="2026-01-01",
            end_date="2026-01-10",
        )
        return topics.ASSIGNMENT_COMMANDS, customer, json.dumps(body).encode()

    def definition(self, n: int) -> tuple[str, str, bytes]:
        # A catalog imported in bulk: each command a new package (a redefinition is a new
        # version, which reads the package's earlier ones).
        package_id = f"b{n:07d}-{self.run}"
        body = define_package(package_id, retail=f"{1 + n % 7}.00")
        return topics.CATALOG_COMMANDS, package_id, json.dumps(body).encode()

    async def send(self, producer: AIOKafkaProducer, records: list[tuple[str, str, bytes]]) -> None:
        pending = [
            await producer.send(self.system.topic(t), value, key=key.encode())
            for t, key, value in records
        ]
        await asyncio.gather(*pending)

    async def lag(self, watched: list[tuple[str, str]]) -> int:
        """Records not yet committed, summed over (service group prefix, topic)."""
        lag = await consumer_lag(self.system.bootstrap, self.system.prefix)
        return sum(
            n
            for (group, topic, _), n in lag.items()
            for prefix, name in watched
            if group.startswith(prefix) and topic == self.system.topic(name)
        )

    async def committed_everywhere(self, watched: list[tuple[str, str]]) -> bool:
        lag = await consumer_lag(self.system.bootstrap, self.system.prefix)
        for prefix, name in watched:
            parts = {
                p for (g, t, p) in lag if g.startswith(prefix) and t == self.system.topic(name)
            }
            if len(parts) < topics.partitions_of(name):
                return False
        return True

    async def capacity(
        self,
        producer: AIOKafkaProducer,
        make: Callable[[int], tuple[str, str, bytes]],
        services: list[str],
        watched: list[tuple[str, str]],
        n: int,
    ) -> dict[str, Any]:
        """Backlog of `n`, then the services started: records per second, CPU per process."""
        self.run = uuid.uuid4().hex[:6]  # new package ids for each run
        # A warm-up handled first: every partition then has a committed offset to count from.
        await self.send(producer, [make(n + i) for i in range(200)])
        deadline = time.monotonic() + 120
        while await self.lag(watched) or not await self.committed_everywhere(watched):
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up was not handled in 120 s")
            await asyncio.sleep(0.2)
        for name in services:
            self.system.services[name].stop()
        records = [make(i) for i in range(n)]
        sent_at = time.monotonic()
        await self.send(producer, records)
        produce_seconds = time.monotonic() - sent_at
        backlog = await self.lag(watched)
        for name in services:
            self.system.services[name].start()
        began = None
        cpu_before: dict[str, float] = {}
        while True:
            lag = await self.lag(watched)
            now = time.monotonic()
            if began is None and lag < backlog:
                began = now
                cpu_before = {k: cpu_seconds(v) for k, v in self.processes().items()}
            if lag == 0 and began is not None:
                break
            if now - sent_at > 900:
                raise RuntimeError(f"not drained after 900 s (lag {lag})")
            await asyncio.sleep(0.1)
        for name in services:
            await asyncio.to_thread(self.system.services[name].wait_healthy)
        seconds = max(now - began, 0.1)
        cpu = {
            k: round(cpu_seconds(v) - cpu_before.get(k, 0.0), 2)
            for k, v in self.processes().items()
        }
        return {
            "records": n,
            "backlog_read": backlog,
            "seconds": round(seconds, 2),
            "per_s": round(n / seconds),
            "produce_seconds": round(produce_seconds, 2),
            "cpu_seconds": cpu,
            "cpu_share_of_a_core": {k: round(v / seconds, 2) for k, v in cpu.items()},
        }

    async def hold(
        self,
        producer: AIOKafkaProducer,
        make: Callable[[int], tuple[str, str, bytes]],
        watched: list[tuple[str, str]],
        rate: int,
        seconds: int,
    ) -> dict[str, Any]:
        """Offer `rate` records/s for `seconds`; the share handled within the run."""
        lag_before = await self.lag(watched)
        started = time.monotonic()
        sent = 0
        samples: list[int] = []
        next_sample = started + 5
        slot = 0.1
        while time.monotonic() - started < seconds:
            due = int((time.monotonic() - started + slot) * rate)
            if due > sent:
                await self.send(producer, [make(i) for i in range(sent, due)])
                sent = due
            if time.monotonic() >= next_sample:
                samples.append(await self.lag(watched))
                next_sample += 5
            await asyncio.sleep(max(0.0, started + (sent / rate) - time.monotonic()))
        lag_end = await self.lag(watched)
        handled = sent - (lag_end - lag_before)
        half = samples[len(samples) // 2 :] or [lag_end]
        return {
            "offered_per_s": rate,
            "seconds": seconds,
            "sent": sent,
            "held_share": round(handled / sent, 3) if sent else None,
            "lag_samples": samples,
            "lag_end": lag_end,
            "lag_growing": half[-1] > 2 * max(half[0], rate),
        }


def plain_producer(bootstrap: str) -> AIOKafkaProducer:
    """Idempotent, acks=all, batched as the services' relay is."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


async def producer_ceiling(bootstrap: str, topic: str, n: int) -> float:
    """Records/s a plain idempotent acks=all producer writes here (500-byte records)."""
    producer = plain_producer(bootstrap)
    await producer.start()
    try:
        value = b"x" * 500
        started = time.monotonic()
        pending = [await producer.send(topic, value, key=str(i).encode()) for i in range(n)]
        await asyncio.gather(*pending)
        return n / (time.monotonic() - started)
    finally:
        await producer.stop()


async def main(args: argparse.Namespace) -> int:
    logdir = Path(tempfile.mkdtemp(prefix="stream-bench-"))
    modules = ("catalog", "assignment", "charger")
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(),
        "records": args.records,
        "hold_seconds": args.hold_seconds,
        "cpus": os.cpu_count(),
        "inputs": {},
    }
    async with started_system(KAFKA, DSN, logdir, *modules) as system:
        pkg = f"stream-{uuid.uuid4().hex[:6]}"
        async with system.reader(topics.CATALOG_PACKAGES) as reader:
            await system.send(topics.CATALOG_COMMANDS, define_package(pkg), key=pkg)
            await reader.wait_count(1, timeout=60, event_type="PackageDefined", package_id=pkg)
        bench = Bench(system, pkg)
        producer = plain_producer(KAFKA)
        await producer.start()
        try:
            ceiling = []
            for _ in range(args.repeats):
                ceiling.append(
                    await producer_ceiling(KAFKA, system.topic(topics.CHARGER_EVENTS), 100_000)
                )
            results["plain_producer_per_s"] = round(statistics.median(ceiling))
            log(f"plain producer: {results['plain_producer_per_s']} records/s (median)")
            inputs = {
                "usage.rated (charger)": (
                    bench.usage,
                    ["charger"],
                    [("charger", topics.USAGE_RATED)],
                ),
                "assignment.commands (assignment service, then the charger)": (
                    bench.assignment,
                    ["assignment", "charger"],
                    [
                        ("assignment", topics.ASSIGNMENT_COMMANDS),
                        ("charger", topics.ASSIGNMENT_EVENTS),
                    ],
                ),
                "catalog.commands (catalog service)": (
                    bench.definition,
                    ["catalog"],
                    [("catalog", topics.CATALOG_COMMANDS)],
                ),
            }
            for name, (make, services, watched) in inputs.items():
                if args.only and args.only not in name:
                    continue
                runs = []
                for _ in range(args.repeats):
                    runs.append(
                        await bench.capacity(producer, make, services, watched, args.records)
                    )
                    log(f"{name}: {runs[-1]['per_s']} records/s in {runs[-1]['seconds']} s")
                capacity = statistics.median(r["per_s"] for r in runs)
                entry: dict[str, Any] = {"capacity_per_s": capacity, "runs": runs}
                if args.hold_seconds:
                    rate = max(1, int(capacity * args.hold_fraction))
                    entry["hold"] = await bench.hold(
                        producer, make, watched, rate, args.hold_seconds
                    )
                    log(f"{name}: offered {rate}/s for {args.hold_seconds} s: {entry['hold']}")
                results["inputs"][name] = entry
        finally:
            await producer.stop()
    out = ROOT / "bench" / "results" / f"stream-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(
        f"| input | capacity, records/s (median of {args.repeats}) | "
        f"CPU share of a core per process | held at {args.hold_fraction:.0%} |"
    )
    print("|---|---|---|---|")
    for name, entry in results["inputs"].items():
        run = entry["runs"][len(entry["runs"]) // 2]
        cpu = ", ".join(f"{k} {v}" for k, v in run["cpu_share_of_a_core"].items() if v)
        hold = entry.get("hold") or {}
        print(
            f"| {name} | {entry['capacity_per_s']:.0f} | {cpu} | "
            f"{hold.get('offered_per_s', '-')}/s: {hold.get('held_share', '-')} |"
        )
    print(f"\nplain producer: {results['plain_producer_per_s']} records/s; written {out}")
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=60_000)
    parser.add_argument("--hold-seconds", type=int, default=60)
    parser.add_argument("--hold-fraction", type=float, default=0.5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="run the inputs whose name holds this")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
