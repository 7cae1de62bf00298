"""Poison for every consumer of the running system: on each consumed topic, amid valid traffic
on the same partition, the inputs that once stalled a partition for good (docs/contract.md §4
Errors; docs/reliability.md has the table):
- `[]`, a JSON value that is not an object;
- JSON nested 10,000 deep;
- 900,010 bytes that are not UTF-8;
- a string holding NUL;
- a date past 2999-12-31;
and one valid message per service whose handler raises once (FAULT_RAISE_ONCE).

Each gets a DeadLetter (or, on a command topic, a CommandRejected for a rule it breaks), the
valid messages behind it are handled, and ticks keep being accepted: the last tick is settled
(ChargesSettled) with every debit it made due."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pkgcontract import topics
from pkgcontract.messages import natural_event_id
from pkgtools.testing.kafka import produce
from pkgtools.testing.system import body, command, define_package, started_system

pytestmark = pytest.mark.reliability

DEEP = b"[" * 10_000 + b"]" * 10_000
NOT_UTF8 = b"\xff" * 900_010


def poison(valid: dict[str, Any], nul_field: str, date_field: str) -> list[bytes]:
    """The five inputs, the last two made from a valid message of the topic."""
    nul = valid | {"event_id": str(uuid.uuid4()), nul_field: "RT\u0000nul"}
    far = valid | {"event_id": str(uuid.uuid4()), date_field: "9999-12-31"}
    if date_field in ("at", "occurred_at"):
        far[date_field] = "9999-12-31T00:00:00Z"
    return [b"[]", DEEP, NOT_UTF8, json.dumps(nul).encode(), json.dumps(far).encode()]


async def test_every_consumer_moves_past_poison_and_ticks_keep_being_accepted(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, figures: Counter[str]
) -> None:
    customer, package = f"cust-{uuid.uuid4().hex[:8]}", f"pkg-{uuid.uuid4().hex[:8]}"
    first_define = define_package(package, retail="2.00")
    assign_ids = [str(uuid.uuid4()) for _ in range(2)]

    def assign(assignment_id: str) -> dict[str, Any]:
        return command(
            "AssignPackage",
            assignment_id=assignment_id,
            customer_id=customer,
            package_id=package,
            quantity=1,
            start_date="2026-01-01",
        )

    usage = command(
        "UsageRated",
        usage_id=str(uuid.uuid4()),
        customer_id=customer,
        amount="1.00",
        currency="GBP",
    ) | {"occurred_at": "2026-01-01T10:00:00Z"}
    # One valid message per service raises once in its handler, then goes through.
    raise_once = {
        "catalog": first_define["event_id"],
        "assignment": assign(assign_ids[0])["event_id"],
        "charger": str(natural_event_id(f"assigned:{assign_ids[0]}")),
    }
    first_assign = assign(assign_ids[0]) | {"event_id": raise_once["assignment"]}
    tick_1 = command("ClockTicked", tick_id=str(uuid.uuid4()), at="2026-01-02T00:00:00Z")
    run = command(
        "RunPackage",
        request_id=str(uuid.uuid4()),
        customer_id=customer,
        date="2026-01-01",
        simulate=True,
    )
    modules = ("catalog", "assignment", "charger")
    async with started_system(
        kafka_bootstrap, database_url, tmp_path, *modules, HANDLER_MAX_ATTEMPTS="3"
    ) as system:
        for module in modules:  # restart each with its fault armed
            process = system.services[module]
            process.stop()
            process.env["FAULT_RAISE_ONCE"] = raise_once[module]
            process.start()
        for process in system.services.values():
            process.wait_healthy()
        watched = (
            *(topics.dlq_topic(t) for t in topics.CONSUMED_TOPICS),
            topics.CATALOG_PACKAGES,
            topics.ASSIGNMENT_EVENTS,
            topics.CHARGER_EVENTS,
            topics.CREDIT_DEBITED,
            topics.CHARGER_PROGRESS,
        )
        async with system.reader(*watched) as reader:
            started = time.monotonic()
            sends: list[tuple[str, str, list[bytes]]] = [
                # Commands: the valid one raises once, poison around it.
                (
                    topics.CATALOG_COMMANDS,
                    package,
                    [
                        *poison(define_package(package), "name", "effective_from"),
                        json.dumps(first_define).encode(),
                    ],
                ),
                (
                    topics.ASSIGNMENT_COMMANDS,
                    customer,
                    [
                        *poison(assign(str(uuid.uuid4())), "customer_id", "start_date"),
                        json.dumps(first_assign).encode(),
                    ],
                ),
            ]
            for topic, key, raw in sends:
                await produce(system.bootstrap, system.topic(topic), raw, key=key)
                if topic == topics.CATALOG_COMMANDS:  # an assignment needs its package first
                    await reader.wait_count(1, event_type="PackageDefined", package_id=package)
            await reader.wait_count(1, event_type="PackageAssigned", customer_id=customer)
            # Events topics: written as a hostile client would, then more valid traffic.
            event_poison = {
                topics.CATALOG_PACKAGES: (package, ("name", "effective_from")),
                topics.ASSIGNMENT_EVENTS: (customer, ("customer_id", "start_date")),
                topics.USAGE_RATED: (customer, ("customer_id", "occurred_at")),
                topics.CLOCK_TICKS: ("clock", ("tick_id", "at")),
                topics.CHARGER_COMMANDS: (customer, ("customer_id", "date")),
            }
            samples = {
                topics.CATALOG_PACKAGES: body(
                    reader.matching(event_type="PackageDefined", package_id=package)[0]
                ),
                topics.ASSIGNMENT_EVENTS: body(
                    reader.matching(event_type="PackageAssigned", customer_id=customer)[0]
                ),
                topics.USAGE_RATED: usage,
                topics.CLOCK_TICKS: tick_1,
                topics.CHARGER_COMMANDS: run,
            }
            for topic, (key, (nul_field, date_field)) in event_poison.items():
                raw = poison(samples[topic], nul_field, date_field)
                await produce(system.bootstrap, system.topic(topic), raw, key=key)
            # Valid traffic behind the poison: a second assignment, usage, a run, ticks.
            await produce(
                system.bootstrap,
                system.topic(topics.ASSIGNMENT_COMMANDS),
                [assign(assign_ids[1])],
                key=customer,
            )
            await produce(system.bootstrap, system.topic(topics.USAGE_RATED), [usage], key=customer)
            await produce(
                system.bootstrap, system.topic(topics.CHARGER_COMMANDS), [run], key=customer
            )
            last_tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at="2026-01-05T00:00:00Z")
            await produce(
                system.bootstrap,
                system.topic(topics.CLOCK_TICKS),
                [tick_1, last_tick],
                key="clock",
            )
            settled = await reader.wait_count(
                1, timeout=90, event_type="ChargesSettled", tick_id=last_tick["tick_id"]
            )
            reports = await reader.wait_count(
                1, timeout=30, event_type="PackageRunReported", request_id=run["request_id"]
            )
            debits = reader.matching(event_type="CreditDebited", customer_id=customer)
            # Commands: three unreadable each. Events, ticks and usage: all five are dead
            # letters; catalog.packages has two consumers (the assignment service's catalog
            # view and the charger), each writing its own.
            expected = {
                system.topic(t): 3 for t in (topics.CATALOG_COMMANDS, topics.ASSIGNMENT_COMMANDS)
            }
            expected |= {
                system.topic(t): 5
                for t in (topics.ASSIGNMENT_EVENTS, topics.USAGE_RATED, topics.CLOCK_TICKS)
            }
            expected |= {
                system.topic(topics.CATALOG_PACKAGES): 10,
                system.topic(topics.CHARGER_COMMANDS): 3,
            }
            # Every one of them (each consumer writes its own, in its own time).
            letters = await reader.wait_count(
                sum(expected.values()), timeout=60, event_type="DeadLetter"
            )
            rejected = await reader.wait_count(6, timeout=30, event_type="CommandRejected")
            seconds = time.monotonic() - started

    # Every debit due by the last tick, each once: two assignments, 2026-01-01..05 (daily).
    by_assignment = Counter(body(d)["assignment_id"] for d in debits)
    assert by_assignment == {assign_ids[0]: 5, assign_ids[1]: 5}, by_assignment
    assert len({body(d)["debit_id"] for d in debits}) == 10
    assert body(settled[0])["at"] == "2026-01-05T00:00:00Z"
    assert body(reports[0])["simulate"] is True
    # Commands: two rules broken each (NUL, the date).
    rejected_types = Counter(body(r)["command_type"] for r in rejected)
    assert rejected_types == {"DefinePackage": 2, "AssignPackage": 2, "RunPackage": 2}
    per_topic = Counter(body(letter)["source_topic"] for letter in letters)
    assert per_topic == expected, per_topic
    huge = [body(x) for x in letters if body(x)["payload_size"] == len(NOT_UTF8)]
    assert len(huge) == 8 and all(len(x["payload_base64"]) <= 4 * 256 * 1024 // 3 + 4 for x in huge)
    figures["poison inputs dead-lettered"] += len(letters)
    figures["poison inputs rejected"] += len(rejected)
    figures["poison test seconds (all consumers)"] = round(seconds, 1)
    await asyncio.sleep(0)
