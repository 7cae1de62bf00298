"""kill -9 of each service at random moments of a large run (packages defined, assignments
streamed, ticks interleaved), each restarted at once. After recovery: every expected event
exactly once by id (a republished event repeats its id and its bytes), no unexpected event,
and every consumer group caught up.

The moments come from a seeded generator: CHAOS_SEED=<printed seed> replays a run's choices
(the services' own timing still varies). CHAOS_PACKAGES / CHAOS_CUSTOMERS size it."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pkgcontract import topics
from pkgtools.testing import scenario
from pkgtools.testing.bulk import TICK_AT, expected_ids
from pkgtools.testing.kafka import produce_keyed
from pkgtools.testing.lag import wait_caught_up
from pkgtools.testing.system import System, command, define_package, started_system
from pkgtools.testing.watch import Watch

SERVICES = ("catalog", "assignment", "charger")
PACKAGES = int(os.environ.get("CHAOS_PACKAGES", "400"))
CUSTOMERS = int(os.environ.get("CHAOS_CUSTOMERS", "2000"))
# Rounds of kills (each service once, random order and moments) per phase of the run.
ROUNDS = {"defining": 1, "assigning": 2, "charging": 1}
EARLY_TICKS = ("2026-02-15", "2026-03-15", "2026-04-15", "2026-05-15")
WATCHED = (*scenario.WATCHED, *(topics.dlq_topic(t) for t in topics.CONSUMED_TOPICS))
# Topics every service reads: each must end with some group caught up on it.
CONSUMED = (
    topics.CATALOG_COMMANDS,
    topics.CATALOG_PACKAGES,
    topics.ASSIGNMENT_COMMANDS,
    topics.ASSIGNMENT_EVENTS,
    topics.CLOCK_TICKS,
)


class Run:
    def __init__(self, system: System, seen: Watch, rng: random.Random) -> None:
        self.system = system
        self.seen = seen
        self.rng = rng
        self.phase = "starting"
        self.started = time.monotonic()
        self.kills: list[tuple[float, str, str]] = []
        self.package_ids = [f"chaos-{n:04d}" for n in range(PACKAGES)]
        self.assignments: dict[str, str] = {}  # assignment_id -> customer_id
        self.rounds_done = asyncio.Event()

    async def send(self, name: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        await produce_keyed(self.system.bootstrap, self.system.topic(name), list(items))

    async def tick(self, day: str) -> None:
        at = day if "T" in day else f"{day}T00:00:00Z"
        cmd = command("ClockTicked", tick_id=str(uuid.uuid4()), at=at)
        await self.send(topics.CLOCK_TICKS, [("clock", cmd)])

    async def workload(self) -> None:
        self.phase = "defining"
        await self.send(
            topics.CATALOG_COMMANDS,
            [
                (
                    pid,
                    define_package(
                        pid, retail=f"{1 + n % 7}.25", frequency="monthly", frequency_match=[1]
                    ),
                )
                for n, pid in enumerate(self.package_ids)
            ],
        )
        # An assignment to a package the catalog has not published yet would be rejected.
        await self.seen.until(
            lambda: (
                {e.get("package_id") for e in self.seen.on(topics.CATALOG_PACKAGES)}
                >= set(self.package_ids)
            ),
            timeout=240,
            what="every PackageDefined",
        )
        self.phase = "assigning"
        chunk = -(-CUSTOMERS // len(EARLY_TICKS))
        for n, day in enumerate(EARLY_TICKS):
            batch = []
            for c in range(n * chunk, min(CUSTOMERS, (n + 1) * chunk)):
                aid, customer = str(uuid.uuid4()), f"c{c:06d}"
                self.assignments[aid] = customer
                batch.append(
                    (
                        customer,
                        command(
                            "AssignPackage",
                            assignment_id=aid,
                            customer_id=customer,
                            package_id=self.rng.choice(self.package_ids),
                            quantity=1,
                            start_date="2026-01-01",
                        ),
                    )
                )
            await self.send(topics.ASSIGNMENT_COMMANDS, batch)
            await self.tick(day)
            await asyncio.sleep(self.rng.uniform(0.5, 2.0))  # spread the work over the kills
        await self.seen.until(
            lambda: (
                len({e.get("assignment_id") for e in self.seen.on(topics.ASSIGNMENT_EVENTS)})
                >= CUSTOMERS
            ),
            timeout=300,
            what="every PackageAssigned",
        )
        self.phase = "charging"
        await self.tick(TICK_AT)
        want = expected_ids(list(self.assignments))
        await self.seen.until(
            lambda: {e.get("debit_id") for e in self.seen.on(topics.CREDIT_DEBITED)} >= want,
            timeout=400,
            what=f"{len(want)} debits",
        )
        # Kills after the last debit count too: a restarted service must not charge again.
        await asyncio.wait_for(self.rounds_done.wait(), timeout=180)
        self.phase = "done"

    async def monkey(self) -> None:
        """Rounds of kills: in each phase, every service in random order, each at a random
        moment and restarted at once. Killing without pause would keep the consumer groups
        rebalancing (a dead member holds its partitions until its session expires) and the
        run would mostly wait; rounds per phase put kills in all of it at a bounded cost."""
        rounds = Counter[str]()
        while self.phase != "done":
            phase = self.phase
            # The charging phase's rounds are what the run waits for; an earlier phase that
            # ends before its rounds do (the services got faster) just gets fewer kills.
            if rounds["charging"] >= ROUNDS["charging"]:
                self.rounds_done.set()
            if rounds[phase] >= ROUNDS.get(phase, 0):
                await asyncio.sleep(0.1)
                continue
            rounds[phase] += 1
            order = list(SERVICES)
            self.rng.shuffle(order)
            for name in order:
                await asyncio.sleep(self.rng.uniform(0.2, 2.0))
                process = self.system.services[name]
                process.kill()
                self.kills.append((round(time.monotonic() - self.started, 1), name, self.phase))
                await asyncio.sleep(self.rng.uniform(0.0, 1.0))
                process.start()
                await asyncio.to_thread(process.wait_healthy, 90)


async def test_random_kills_lose_and_duplicate_nothing(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, figures: Counter[str]
) -> None:
    seed = int(os.environ.get("CHAOS_SEED", time.time_ns() % 1_000_000))
    print(f"\nCHAOS_SEED={seed}")
    # Small charging batches: many commits for a kill to fall between.
    async with started_system(
        kafka_bootstrap, database_url, tmp_path, *SERVICES, CHARGE_BATCH_CUSTOMERS="20"
    ) as system:
        async with system.reader(*WATCHED) as reader:
            run = Run(system, Watch(reader, system.prefix), random.Random(seed))
            monkey = asyncio.create_task(run.monkey())
            try:
                await run.workload()
            finally:
                run.phase = "done"
                await monkey
            print(f"kills (seconds, service, phase): {run.kills}")
            killed = Counter(name for _, name, _ in run.kills)
            assert set(killed) == set(SERVICES), f"not every service was killed: {run.kills}"
            assert "charging" in {phase for *_, phase in run.kills}, run.kills

            lag = await wait_caught_up(system.bootstrap, system.prefix, CONSUMED)
            await run.seen.poll(1.0)  # stragglers: a republish after the last debit
            verified = check_exactly_once(run)

        figures["random kills"] += len(run.kills)
        figures["events verified after random kills"] += verified
        print(f"verified {verified} events; consumer groups caught up: {len(lag)} partitions")
        for process in system.services.values():
            assert process.proc is not None and process.proc.poll() is None, process.tail()


def check_exactly_once(run: Run) -> int:
    """Every expected event once by id (duplicates byte-identical), nothing else; the count."""
    payloads: dict[tuple[str, str], set[bytes]] = defaultdict(set)
    for topic, raw, event in run.seen.events:
        payloads[(topic, str(event.get("event_id")))].add(raw)
    changed = {k: len(v) for k, v in payloads.items() if len(v) > 1}
    assert not changed, f"one event id, different contents: {changed}"

    dead = [e for t, _, e in run.seen.events if t.endswith(topics.DLQ_SUFFIX)]
    assert not dead, f"dead letters: {dead[:3]}"

    def distinct(name: str) -> dict[str, dict[str, Any]]:
        return {str(e["event_id"]): e for e in run.seen.on(name)}

    packages = distinct(topics.CATALOG_PACKAGES)
    assert Counter(e["event_type"] for e in packages.values()) == {"PackageDefined": PACKAGES}
    assert sorted(e["package_id"] for e in packages.values()) == run.package_ids
    assert {e["version"] for e in packages.values()} == {1}

    assigned = distinct(topics.ASSIGNMENT_EVENTS)
    assert Counter(e["event_type"] for e in assigned.values()) == {"PackageAssigned": CUSTOMERS}
    assert {e["assignment_id"]: e["customer_id"] for e in assigned.values()} == run.assignments

    debits = distinct(topics.CREDIT_DEBITED)
    assert {e["debit_id"] for e in debits.values()} == set(debits)
    assert set(debits) == expected_ids(list(run.assignments))
    assert not run.seen.on(topics.FREE_MINUTES_GRANTED)
    assert not run.seen.on(topics.CHARGER_EVENTS)

    repeats = len(run.seen.events) - len(payloads)
    print(f"{len(payloads)} distinct events, {repeats} republished copies (same id and bytes)")
    return len(packages) + len(assigned) + len(debits)
