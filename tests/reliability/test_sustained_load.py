"""A sustained stream for a few minutes, through every service: each second LOAD_RATE new
assignments (a daily package, each for LOAD_DAYS days), as many UsageRated, a tenth as many
SetSpendLimit (a limit no charge reaches) and one tick that moves the clock a day. Every 5 s
it samples the consumer lag of every group and the charges that are due but not yet published.

It reports the throughput held, and fails if less than MIN_HELD_SHARE of the work offered was
done over the stream (a backlog growing without bound), or if, once the stream stops, any
expected event is missing or any unexpected one appears. LOAD_SECONDS / LOAD_RATE / LOAD_DAYS
size it; LOAD_REPORT names a JSON file for the samples."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from pkgcontract import topics
from pkgtools.testing.bulk import debit_id
from pkgtools.testing.lag import consumer_lag, total, wait_caught_up
from pkgtools.testing.system import System, command, define_package, started_system
from pkgtools.testing.watch import Watch

SECONDS = int(os.environ.get("LOAD_SECONDS", "180"))
RATE = int(os.environ.get("LOAD_RATE", "100"))
DAYS = int(os.environ.get("LOAD_DAYS", "10"))
CUSTOMERS = 2000
SAMPLE_SECONDS = 5.0
START = date(2026, 1, 1)
# The share of the offered work that must be done over the stream (debits published of those
# due, assignment events of the commands sent). A system that cannot keep up falls short by
# what it misses each second (overloaded at 700 assignments/s: about 0.3). One that keeps up
# is near 1 even after a transient slowdown it recovers from: a first version of this check,
# the backlog's slope over the second half, failed CI on such a hump (18,000 charges behind
# for 30 s, back to 3,000 by the end of the stream).
MIN_HELD_SHARE = 0.95
WATCHED = (
    topics.ASSIGNMENT_EVENTS,
    topics.CREDIT_DEBITED,
    topics.CHARGER_EVENTS,
    *(topics.dlq_topic(t) for t in topics.CONSUMED_TOPICS),
)
CONSUMED = (topics.ASSIGNMENT_COMMANDS, topics.ASSIGNMENT_EVENTS, topics.CLOCK_TICKS)


@dataclass
class Sample:
    seconds: float
    consumer_lag: int
    charges_behind: int
    assigned: int
    debits: int
    most_behind: str  # the group and partition with the most lag


class Stream:
    def __init__(self, system: System, watch: Watch, package_id: str) -> None:
        self.system = system
        self.package_id = package_id
        self.watch = watch
        self.starts: dict[str, date] = {}  # assignment_id -> start_date
        self.last_tick: date | None = None
        self.sent = 0
        self.samples: list[Sample] = []
        self.streaming = True
        self.debit_ids: set[str] = set()
        self._debits_read = 0
        self.limits = 0

    def debits(self) -> set[str]:
        new = self.watch.on(topics.CREDIT_DEBITED)[self._debits_read :]
        self._debits_read += len(new)
        self.debit_ids.update(e["debit_id"] for e in new)
        return self.debit_ids

    def due(self) -> int:
        """Debits due by the latest tick sent, for the assignments sent so far."""
        if self.last_tick is None:
            return 0
        return sum(
            min(DAYS, (self.last_tick - start).days + 1)
            for start in self.starts.values()
            if start <= self.last_tick
        )

    def expected(self) -> set[str]:
        return {
            debit_id(a, (start + timedelta(days=d)).isoformat())
            for a, start in self.starts.items()
            for d in range(DAYS)
        }

    async def produce(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.system.bootstrap, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            began = time.monotonic()
            for second in range(SECONDS):
                day = START + timedelta(days=second)
                pending = []
                for i in range(RATE):
                    customer = f"c{(second * RATE + i) % CUSTOMERS:05d}"
                    aid = str(uuid.uuid4())
                    self.starts[aid] = day
                    assign = command(
                        "AssignPackage",
                        assignment_id=aid,
                        customer_id=customer,
                        package_id=self.package_id,
                        quantity=1,
                        start_date=day.isoformat(),
                        end_date=(day + timedelta(days=DAYS - 1)).isoformat(),
                    )
                    usage = command(
                        "UsageRated",
                        usage_id=str(uuid.uuid4()),
                        customer_id=customer,
                        amount="0.015",
                        currency="GBP",
                        occurred_at=f"{day.isoformat()}T12:00:00Z",
                    )
                    pending.append(await self._send(producer, topics.ASSIGNMENT_COMMANDS, assign))
                    pending.append(await self._send(producer, topics.USAGE_RATED, usage))
                for i in range(RATE // 10):
                    limit = command(
                        "SetSpendLimit",
                        customer_id=f"c{(second * RATE + i * 10) % CUSTOMERS:05d}",
                        monthly_limit="1000000",
                        currency="GBP",
                    )
                    self.limits += 1
                    pending.append(await self._send(producer, topics.ASSIGNMENT_COMMANDS, limit))
                tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at=f"{day}T00:00:00Z")
                pending.append(await self._send(producer, topics.CLOCK_TICKS, tick, "clock"))
                await asyncio.gather(*pending)
                self.last_tick = day
                self.sent += len(pending)
                await asyncio.sleep(max(0.0, began + second + 1 - time.monotonic()))
            # A last tick after every assignment's end: all of it falls due.
            final = START + timedelta(days=SECONDS + DAYS)
            tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at=f"{final}T00:00:00Z")
            await (await self._send(producer, topics.CLOCK_TICKS, tick, "clock"))
            self.last_tick = final
        finally:
            self.streaming = False
            await producer.stop()

    async def _send(
        self, producer: AIOKafkaProducer, name: str, message: dict[str, Any], key: str = ""
    ) -> Any:
        key = key or str(message["customer_id"])
        return await producer.send(
            self.system.topic(name), json.dumps(message).encode(), key=key.encode()
        )

    async def sample(self) -> None:
        began = time.monotonic()
        while self.streaming:
            await asyncio.sleep(SAMPLE_SECONDS)
            if not self.streaming:
                break
            by_partition = await consumer_lag(self.system.bootstrap, self.system.prefix)
            lag = total(by_partition)
            worst = max(by_partition.items(), key=lambda kv: kv[1], default=None)
            debits = len(self.debits())
            self.samples.append(
                Sample(
                    seconds=round(time.monotonic() - began, 1),
                    consumer_lag=lag,
                    charges_behind=self.due() - debits,
                    assigned=len(self.watch.on(topics.ASSIGNMENT_EVENTS)),
                    debits=debits,
                    most_behind=f"{worst[0]}: {worst[1]}" if worst else "",
                )
            )

    async def read(self) -> None:
        while True:
            await self.watch.poll(0.2)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    xs, ys = zip(*points, strict=True)
    return statistics.linear_regression(xs, ys).slope


@pytest.mark.timeout(SECONDS + 480)
async def test_sustained_load_is_held_without_growing_lag(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, figures: Counter[str]
) -> None:
    modules = ("catalog", "assignment", "charger")
    async with started_system(kafka_bootstrap, database_url, tmp_path, *modules) as system:
        pid = f"load-{uuid.uuid4().hex[:6]}"
        define = define_package(pid, retail="0.10")
        async with system.reader(*WATCHED) as reader:
            watch = Watch(reader, system.prefix)
            async with system.reader(topics.CATALOG_PACKAGES) as packages:
                await system.send(topics.CATALOG_COMMANDS, define, key=pid)
                await packages.wait_count(1, event_type="PackageDefined", package_id=pid)
            stream = Stream(system, watch, pid)
            reading = asyncio.create_task(stream.read())
            try:
                began = time.monotonic()
                await asyncio.gather(stream.produce(), stream.sample())
                streamed = time.monotonic() - began
            finally:
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
            # Before waiting for the rest: an overloaded system fails here, with its samples.
            debits_share, events_share = held_shares(stream.samples)
            assert min(debits_share, events_share) >= MIN_HELD_SHARE, (
                f"held {debits_share:.2f} of the debits due and {events_share:.2f} of the "
                f"assignment events (at least {MIN_HELD_SHARE} each): "
                f"{[asdict(s) for s in stream.samples]}"
            )
            want = stream.expected()
            await watch.until(
                lambda: (
                    stream.debits() >= want
                    and len(watch.on(topics.ASSIGNMENT_EVENTS))
                    >= len(stream.starts) + stream.limits
                ),
                timeout=300,
                what=f"{len(want)} debits and {len(stream.starts)} assignments",
            )
            drained = time.monotonic() - began - streamed
            await wait_caught_up(system.bootstrap, system.prefix, CONSUMED)
            await watch.poll(1.0)

        report = summarize(stream, streamed, drained)
        path = Path(os.environ.get("LOAD_REPORT", tmp_path / "load.json"))
        document = json.dumps(report | {"samples": [asdict(s) for s in stream.samples]})
        await asyncio.to_thread(path.write_text, document)
        print(f"\nsustained load ({path}):")
        for s in stream.samples:
            print(f"  {asdict(s)}")
        print("  " + json.dumps(report))

        assigned = {e["event_id"]: e for e in watch.on(topics.ASSIGNMENT_EVENTS)}
        assert Counter(e["event_type"] for e in assigned.values()) == {
            "PackageAssigned": len(stream.starts),
            "SpendLimitSet": stream.limits,
        }
        assert {e.get("assignment_id") for e in assigned.values()} - {None} == set(stream.starts)
        assert stream.debits() == want
        dead = [e for t, _, e in watch.events if t.endswith(topics.DLQ_SUFFIX)]
        assert not dead and not watch.on(topics.CHARGER_EVENTS)
        for process in system.services.values():
            assert process.proc is not None and process.proc.poll() is None, process.tail()

        figures["sustained load: seconds streamed"] += SECONDS
        figures["sustained load: messages sent"] += stream.sent
        figures["sustained load: events verified"] += len(assigned) + len(want)
        figures["sustained load: debits held per s"] += report["held_debits_per_s"]
        figures["sustained load: share of debits due held"] += report["held_share_of_debits_due"]
        figures["sustained load: charges behind, max"] += report["charges_behind_max"]
        figures["sustained load: consumer lag, max"] += report["consumer_lag_max"]


def offered_rate() -> int:
    """Events offered per second: commands, usage and the debits they cause."""
    return RATE * (2 + DAYS) + RATE // 10


def held_shares(samples: list[Sample]) -> tuple[float, float]:
    """Between the first and the last sample: debits published / debits that fell due, and
    assignment events published / commands sent."""
    first, last = samples[0], samples[-1]
    due = (last.debits + last.charges_behind) - (first.debits + first.charges_behind)
    sent = (RATE + RATE // 10) * (last.seconds - first.seconds)
    return (last.debits - first.debits) / max(due, 1), (last.assigned - first.assigned) / sent


def backlog_growth(samples: list[Sample]) -> float:
    """Records behind (consumer lag + charges due not yet published) gained per second over
    the second half of the stream: about zero when the system keeps up."""
    second_half = samples[len(samples) // 2 :]
    return slope([(s.seconds, s.consumer_lag + s.charges_behind) for s in second_half])


def summarize(stream: Stream, streamed: float, drained: float) -> dict[str, Any]:
    samples = stream.samples
    first, last = samples[0], samples[-1]
    span = last.seconds - first.seconds
    offered = offered_rate()
    return {
        "seconds": SECONDS,
        "rate_assignments_per_s": RATE,
        "days_per_assignment": DAYS,
        "offered_events_per_s": offered,
        "held_assignment_events_per_s": round((last.assigned - first.assigned) / span, 1),
        "held_debits_per_s": round((last.debits - first.debits) / span, 1),
        "consumer_lag_median": statistics.median(s.consumer_lag for s in samples),
        "consumer_lag_max": max(s.consumer_lag for s in samples),
        "charges_behind_median": statistics.median(s.charges_behind for s in samples),
        "charges_behind_max": max(s.charges_behind for s in samples),
        "held_share_of_debits_due": round(held_shares(samples)[0], 3),
        "held_share_of_assignment_events": round(held_shares(samples)[1], 3),
        "backlog_growth_per_s_second_half": round(backlog_growth(samples), 1),
        "streamed_seconds": round(streamed, 1),
        "drained_seconds_after_stream": round(drained, 1),
    }
