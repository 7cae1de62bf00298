"""The cluster test's fault check (run by scripts/cluster-test.sh against
deploy/compose/cluster.yml: three brokers, two instances of every service).

A random history (scripts/cluster_history.py: packages, assignments, calls, a first tick,
assignments ended after it), then a big tick with a stream of calls, and during it: the
broker that leads `charger.progress` killed (SIGKILL) and started again once another leads;
one instance of each service killed (SIGKILL) and started again; PostgreSQL paused for 20 s.
Then every debit, grant, credit and FreeMinutesUsed the history makes due must be on its topic
by event id, none missing and none unexpected (a record published again under the same id is
counted once, as consumers do, and reported); the big tick settled (ChargesSettled); every
consumer group's committed offsets at the end of what it reads; no dead letters; /health 200
on every instance within a minute of the last fault. Prints the figures; exits 1 on a failure.

    uv run python scripts/cluster_check.py --project NAME [--customers 1000] [--seed N]

Kafka settings from the environment (KAFKA_BOOTSTRAP_SERVERS, KAFKA_SASL_*: the operator, as
pkgctl; KAFKA_ADMIN_PASSWORD: the brokers' admin, for leaders and group offsets)."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition
from cluster_faults import BROKERS, Admin, LeaderWatch, all_healthy, container, docker, kill, start
from cluster_history import TOPICS_WATCHED, History, build, command
from cluster_seen import Seen

from pkgcontract import topics
from pkgcontract.topics import TOPICS
from pkgctl import broker
from pkgtools.topic_io import produce_keyed

BOOTSTRAP = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
OPERATOR = broker.security()
ADMIN = {
    "security_protocol": "SASL_PLAINTEXT",
    "sasl_mechanism": "PLAIN",
    "sasl_plain_username": "admin",
    "sasl_plain_password": os.environ.get("KAFKA_ADMIN_PASSWORD", ""),
}
SERVICES = ("catalog", "assignment", "charger", "allowance")
PAUSE_SECONDS = 20.0


def say(text: str) -> None:
    print(f"[cluster-check] {datetime.now(UTC):%H:%M:%S} {text}", flush=True)


def health_urls() -> list[str]:
    ports = {"CATALOG": 8081, "ASSIGNMENT": 8082, "CHARGER": 8083, "ALLOWANCE": 8084}
    urls = []
    for name, port in ports.items():
        urls.append(f"http://127.0.0.1:{os.environ.get(f'{name}_PORT', port)}/health")
        urls.append(f"http://127.0.0.1:{os.environ.get(f'{name}_2_PORT', port + 10)}/health")
    return urls


async def send(topic: str, items: list[tuple[str, dict[str, Any]]], tries: int = 30) -> int:
    """Send until acknowledged (acks=all); a try cut short by a fault is sent again whole (a
    command or a call sent again under its id changes nothing). Returns the retries."""
    for attempt in range(tries):
        try:
            await produce_keyed(BOOTSTRAP, topic, items, client_options=OPERATOR)  # type: ignore[arg-type]
            return attempt
        except Exception as error:  # a leader moving, a broker gone: try again
            say(f"sending to {topic} failed ({type(error).__name__}), again")
            await asyncio.sleep(1)
    raise RuntimeError(f"could not send to {topic} in {tries} tries")


async def tick(at: datetime) -> tuple[str, float]:
    """Send a tick at `at`; its id and when it was sent."""
    message = command("ClockTicked", tick_id=str(uuid.uuid4()), at=at.isoformat())
    began = time.monotonic()
    await send(topics.CLOCK_TICKS, [("clock", message)])
    return message["tick_id"], began


async def build_history(seen: Seen, history: History) -> None:
    await send(topics.CATALOG_COMMANDS, history.packages)
    await seen.until(lambda: seen.count("PackageDefined") >= len(history.packages), 120, "packages")
    await send(topics.ASSIGNMENT_COMMANDS, history.assigns())
    n = len(history.assignments)
    await seen.until(lambda: seen.count("PackageAssigned") >= n, 300, f"{n} assignments")
    await send(topics.USAGE_RATED, history.early_calls)
    tick_id, _ = await tick(history.first_tick)
    await seen.until(lambda: tick_id in seen.settled, 600, "the first tick's ChargesSettled")
    credits = history.first_credits()
    await send(topics.ASSIGNMENT_COMMANDS, history.ends())
    await seen.until(lambda: seen.ids("CreditIssued") >= credits, 300, f"{len(credits)} credits")
    say(
        f"history: {len(history.packages)} packages, {n} assignments of "
        f"{len(history.customers)} customers, {len(history.ends())} ended, "
        f"{len(history.early_calls)} calls; {seen.count('CreditDebited')} debits, "
        f"{seen.count('FreeMinutesGranted')} grants, {len(credits)} credits so far"
    )


async def stream(calls: list[tuple[str, dict[str, Any]]], until: asyncio.Event) -> int:
    """Send `calls` in small batches while the faults last (all of them in any case)."""
    retries, step = 0, max(1, len(calls) // 60)
    for n in range(0, len(calls), step):
        retries += await send(topics.USAGE_RATED, calls[n : n + step])
        if not until.is_set():
            await asyncio.sleep(0.5)
    return retries


async def faults(
    project: str, admin: Admin, watch: LeaderWatch, rng: random.Random, figures: dict[str, Any]
) -> None:
    progress = (await admin.leaders([topics.CHARGER_PROGRESS]))[(topics.CHARGER_PROGRESS, 0)]
    victim = BROKERS[progress]
    say(f"killing {victim} (node {progress}, leader of {topics.CHARGER_PROGRESS})")
    kill(project, victim)
    moved = await watch.moved_from(progress, topics.CHARGER_PROGRESS, 90)
    figures["broker killed"] = victim
    figures["new leader of charger.progress after (s)"] = round(moved, 1)
    start(project, victim)
    figures["broker restarted at"] = time.monotonic()
    await asyncio.sleep(rng.uniform(0.5, 3))  # a random moment, not a condition
    victims = [rng.choice((s, f"{s}-2")) for s in SERVICES]
    say(f"killing {', '.join(victims)}")
    for service in victims:
        kill(project, service)
    for service in victims:
        start(project, service)
    figures["services killed"] = victims
    await asyncio.sleep(rng.uniform(0.5, 3))
    say(f"pausing postgres for {PAUSE_SECONDS:.0f} s")
    postgres = container(project, "postgres")
    docker("pause", postgres)
    await asyncio.sleep(PAUSE_SECONDS)  # the fault itself lasts this long
    docker("unpause", postgres)


async def settle_and_check(
    project: str, history: History, seed: int, figures: dict[str, Any]
) -> int:
    rng = random.Random(seed)
    expected = history.expected()
    names = [t.name for t in TOPICS]
    async with (
        Admin(BOOTSTRAP, ADMIN) as admin,
        Seen(BOOTSTRAP, TOPICS_WATCHED, history.run) as seen,
    ):
        watch = LeaderWatch(admin, names)
        await watch.look()
        watch.start()
        await build_history(seen, history)
        before = seen.count("CreditDebited")
        tick_id, tick_began = await tick(history.big_tick)
        await seen.until(lambda: seen.count("CreditDebited") > before, 300, "the first debits")
        say(f"big tick under way ({seen.count('CreditDebited') - before} debits so far)")
        done = asyncio.Event()
        streaming = asyncio.create_task(stream(history.stream_calls, done))
        fault_began = time.monotonic()
        await faults(project, admin, watch, rng, figures)
        faults_over = time.monotonic()
        done.set()
        figures["settled during the faults"] = tick_id in seen.settled
        healthy_after = await all_healthy(health_urls(), 60)
        figures["every /health 200 after the last fault (s)"] = round(healthy_after, 1)
        figures["call retries"] = await streaming
        await seen.until(lambda: tick_id in seen.settled, 900, "the big tick's ChargesSettled")
        # The charge topics' ends once it was read: every charge of the tick lies before them.
        charge_parts = [
            TopicPartition(t.name, p)
            for t in TOPICS
            if t.name in (topics.CREDIT_DEBITED, topics.FREE_MINUTES_GRANTED)
            for p in range(t.partitions)
        ]
        ends = await admin.consumer.end_offsets(charge_parts)
        settled_ends = {(tp.topic, tp.partition): offset for tp, offset in ends.items()}
        figures["big tick settled after it was sent (s)"] = round(
            seen.settled[tick_id] - tick_began, 1
        )
        try:  # on a timeout, the report says what is missing
            await seen.until(
                lambda: all(seen.ids(t) >= ids for t, ids in expected.items()), 300, "every event"
            )
            figures["everything in after the last fault (s)"] = round(
                time.monotonic() - faults_over, 1
            )
            lag, synced = await caught_up(admin, names, 180)
            figures["consumer-group partitions at their end"] = lag
            figures["partitions back in sync after the broker restart (s)"] = round(
                synced - figures["broker restarted at"], 1
            )
        except TimeoutError as error:
            figures["FAILED"] = str(error)
        figures.pop("broker restarted at")
        figures["faults lasted (s)"] = round(faults_over - fault_began, 1)
        await watch.stop()
        figures["leader moves seen"] = watch.moves
        await seen.read_to_end()
        dead = await dead_letters(admin)
        late = sum(seen.after(k, settled_ends) for k in ("CreditDebited", "FreeMinutesGranted"))
        figures["charges published after the ChargesSettled"] = late
        if late:
            figures["FAILED"] = f"{late} charges on their topics after the tick's ChargesSettled"
    return report(seen, expected, figures, dead)


async def caught_up(admin: Admin, names: list[str], timeout: float) -> tuple[int, float]:
    """Wait until every group's committed offsets are its topics' end offsets and every
    partition has all its copies in sync; the partitions checked and when it held."""
    began = time.monotonic()
    lag: dict[tuple[str, str, int], int] = {}
    behind: dict[tuple[str, str, int], int] = {}
    lagging: list[tuple[str, int]] = []
    while True:
        try:
            lag = await admin.lag()
            behind = {k: v for k, v in lag.items() if v}
            lagging = await admin.under_replicated(names)
        except Exception as error:  # a connection to the restarted broker not ready yet
            say(f"asking Kafka failed ({type(error).__name__}), again")
            lag = {}
        if not behind and not lagging and lag:
            return len(lag), time.monotonic()
        if time.monotonic() - began > timeout:
            raise TimeoutError(
                f"still behind after {timeout:.0f} s: {behind}; out of sync: {lagging}"
            )
        await asyncio.sleep(1)


async def dead_letters(admin: Admin) -> int:
    parts = [
        TopicPartition(t.name, p)
        for t in TOPICS
        if t.name.endswith(".dlq")
        for p in range(t.partitions)
    ]
    return sum((await admin.consumer.end_offsets(parts)).values())


def report(seen: Seen, expected: dict[str, set[str]], figures: dict[str, Any], dead: int) -> int:
    failed = dead > 0 or "FAILED" in figures
    checked = 0
    for event_type, ids in expected.items():
        got = seen.ids(event_type)
        missing, unexpected = ids - got, got - ids
        again = seen.repeated(event_type)
        checked += len(ids)
        failed |= bool(missing or unexpected)
        say(
            f"{event_type}: {len(ids)} expected, {len(got & ids)} there once by id, "
            f"{len(missing)} missing, {len(unexpected)} unexpected, {again} records "
            f"published again under the same id"
        )
    for name in ("TickRefused", "ChargesHeld", "ChargeDeclined", "CommandRejected"):
        if seen.count(name):
            failed = True
            say(f"{seen.count(name)} {name} (none expected)")
    figures["events checked"] = checked
    figures["dead letters"] = dead
    for name, value in figures.items():
        say(f"{name}: {value}")
    say("FAILED" if failed else "passed")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="cluster_check.py")
    parser.add_argument("--project", required=True)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--history-days", type=int, default=20)
    parser.add_argument("--tick-days", type=int, default=30)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=random.randrange(1_000_000))
    args = parser.parse_args()
    say(f"seed {args.seed} (--seed replays the same history and fault moments)")
    made = build(
        args.seed,
        args.customers,
        args.history_days,
        args.tick_days,
        args.calls,
        datetime.now(UTC).date(),
    )
    figures: dict[str, Any] = {}
    sys.exit(asyncio.run(settle_and_check(args.project, made, args.seed, figures)))
