"""Catalog and assignment services end to end: commands in, events out, through real Kafka."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

from pkgcontract import topics
from pkgtools.testing.kafka import TopicReader
from pkgtools.testing.system import System, body, command


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def one(reader: TopicReader, timeout: float = 30.0, **match: Any) -> dict[str, Any]:
    records = await reader.wait_count(1, timeout=timeout, **match)
    return body(records[0])


def package(package_id: str, **over: Any) -> dict[str, Any]:
    fields = {
        "package_id": package_id,
        "name": "UK 100",
        "kind": "free_minutes",
        "retail": "5.00",
        "currency": "GBP",
        "frequency": "monthly",
        "frequency_match": [15],
        "free_minutes": 100,
        "destination_prefixes": ["44"],
    }
    fields.update(over)
    return command("DefinePackage", **fields)


def assignment(package_id: str, customer: str, **over: Any) -> dict[str, Any]:
    fields = {
        "assignment_id": str(uuid.uuid4()),
        "customer_id": customer,
        "package_id": package_id,
        "quantity": 2,
        "start_date": "2026-01-10",
        "auto_decrement_credit": True,
    }
    fields.update(over)
    return command("AssignPackage", **fields)


async def define(system: System, events: TopicReader, **over: Any) -> dict[str, Any]:
    pid = uid("pkg")
    cmd = package(pid, **over)
    await system.send(topics.CATALOG_COMMANDS, cmd, key=pid)
    return await one(events, event_type="PackageDefined", package_id=pid)


async def rejected(
    system: System, events: TopicReader, topic: str, cmd: dict[str, Any], key: str
) -> dict[str, Any]:
    await system.send(topic, cmd, key=key)
    event = await one(events, event_type="CommandRejected", command_id=cmd["event_id"])
    assert event["command_type"] == cmd["event_type"]
    assert event["reason"] and event["errors"]
    return event


async def test_define_assign_change_end(running: System, events: TopicReader) -> None:
    defined = await define(running, events)
    pid = defined["package_id"]
    assert defined["version"] == 1 and defined["effective_from"] is None
    assert defined["retail"] == "5.00" and defined["frequency_match"] == [15]

    customer = uid("cust")
    assign = assignment(pid, customer, timezone="Europe/London")
    await running.send(topics.ASSIGNMENT_COMMANDS, assign, key=customer)
    assigned = await one(events, event_type="PackageAssigned", customer_id=customer)
    assert assigned["assignment_id"] == assign["assignment_id"]
    assert assigned["package_version"] == 1 and assigned["quantity"] == 2
    assert assigned["timezone"] == "Europe/London" and assigned["did"] is None
    assert assigned["end_date"] is None and assigned["auto_decrement_credit"] is True
    aid = assign["assignment_id"]

    change = command("ChangeAssignment", assignment_id=aid, quantity=5, effective_from="2026-03-01")
    await running.send(topics.ASSIGNMENT_COMMANDS, change, key=customer)
    changed = await one(events, event_type="AssignmentChanged", assignment_id=aid)
    assert changed["quantity"] == 5 and changed["effective_from"] == "2026-03-01"
    assert changed["customer_id"] == customer and changed["start_date"] == "2026-01-10"

    end = command("EndAssignment", assignment_id=aid, end_date="2026-06-30")
    await running.send(topics.ASSIGNMENT_COMMANDS, end, key=customer)
    ended = await one(events, event_type="AssignmentEnded", assignment_id=aid)
    assert ended["end_date"] == "2026-06-30" and ended["customer_id"] == customer

    # Events are keyed by customer_id and carry the event_type header.
    keyed = [r for r in events.records if body(r).get("assignment_id") == aid]
    assert {r.key for r in keyed} == {customer.encode()}
    assert all(r.headers["event_type"] == body(r)["event_type"].encode() for r in keyed)


async def test_redefinition_makes_a_new_version_and_retirement_stops_new_assignments(
    running: System, events: TopicReader
) -> None:
    defined = await define(running, events)
    pid = defined["package_id"]
    again = package(pid, retail="6.00", effective_from="2026-04-01")
    await running.send(topics.CATALOG_COMMANDS, again, key=pid)
    v2 = await one(events, event_type="PackageDefined", package_id=pid, version=2)
    assert v2["retail"] == "6.00" and v2["effective_from"] == "2026-04-01"

    await running.send(topics.CATALOG_COMMANDS, command("RetirePackage", package_id=pid), key=pid)
    retired = await one(events, event_type="PackageRetired", package_id=pid)
    assert retired["version"] == 2

    customer = uid("cust")
    event = await rejected(
        running, events, topics.ASSIGNMENT_COMMANDS, assignment(pid, customer), customer
    )
    assert "retired" in event["reason"]
    event = await rejected(running, events, topics.CATALOG_COMMANDS, package(pid), pid)
    assert "retired" in event["reason"]


async def test_every_rejection_rule(running: System, events: TopicReader) -> None:
    defined = await define(running, events, minimum_days=30)
    pid = defined["package_id"]
    customer = uid("cust")
    a = topics.ASSIGNMENT_COMMANDS

    async def reason(cmd: dict[str, Any], topic: str = a, key: str = customer) -> str:
        event = await rejected(running, events, topic, cmd, key)
        return str(event["reason"]) + " " + " ".join(e["field"] for e in event["errors"])

    assert "unknown package" in await reason(assignment(uid("nope"), customer))
    assert "quantity" in await reason(assignment(pid, customer, quantity=0))
    assert "quantity" in await reason(assignment(pid, customer, quantity=100001))
    assert "end_date" in await reason(assignment(pid, customer, end_date="2026-01-09"))
    assert "minimum" in await reason(assignment(pid, customer, end_date="2026-02-07"))
    assert "timezone" in await reason(assignment(pid, customer, timezone="Not/AZone"))
    assert "did" in await reason(assignment(pid, customer, did="12"))
    assert "unknown assignment" in await reason(
        command("ChangeAssignment", assignment_id=str(uuid.uuid4()), quantity=2)
    )
    assert "unknown assignment" in await reason(
        command("EndAssignment", assignment_id=str(uuid.uuid4()))
    )
    assert "monthly_limit" in await reason(
        command("SetSpendLimit", customer_id=customer, monthly_limit="-1", currency="GBP")
    )
    too_big = await reason(
        command("SetSpendLimit", customer_id=customer, monthly_limit="1" * 11, currency="GBP")
    )
    assert "at most 10 digits before the point" in too_big and too_big.endswith("monthly_limit")

    ok = assignment(pid, customer)
    await running.send(a, ok, key=customer)
    await one(events, event_type="PackageAssigned", assignment_id=ok["assignment_id"])
    aid = ok["assignment_id"]
    assert "minimum" in await reason(
        command("EndAssignment", assignment_id=aid, end_date="2026-01-20")
    )
    assert "end_date" in await reason(
        command("ChangeAssignment", assignment_id=aid, end_date="2026-01-01")
    )
    assert "already used" in await reason(assignment(pid, customer, assignment_id=aid, quantity=3))

    c = topics.CATALOG_COMMANDS
    assert "kind" in await reason(
        package(pid, kind="recurring", free_minutes=None, destination_prefixes=None), c, pid
    )
    assert "currency" in await reason(package(pid, currency="EUR"), c, pid)
    gone = uid("x")
    assert "unknown package" in await reason(command("RetirePackage", package_id=gone), c, gone)
    # The key a command travels under is its package_id or customer_id (docs/contract.md §2).
    assert "Kafka key" in await reason(command("RetirePackage", package_id=pid), c, uid("k"))
    assert "retail" in await reason(package(uid("p"), retail="1.1234567"), c, pid)
    big = uid("p")
    too_big = await reason(package(big, retail="10000000000"), c, big)
    assert "at most 10 digits before the point" in too_big and too_big.endswith("retail")
    assert "free_minutes" in await reason(package(uid("p"), free_minutes=None), c, pid)


async def test_define_then_assign_back_to_back_is_never_refused(
    running: System, events: TopicReader
) -> None:
    """50 DefinePackage / AssignPackage pairs sent back to back, each pair on its two topics
    at once: 50 PackageAssigned, no rejection. A package never defined is still refused,
    once the wait (UNKNOWN_PACKAGE_WAIT_SECONDS, 10 s by default) is over."""
    customer = uid("pairs")
    pairs = []
    for _ in range(50):
        pid = uid("pair")
        pairs.append((package(pid), assignment(pid, customer)))
    never = assignment(uid("never"), customer)
    for define_cmd, assign_cmd in pairs:
        await asyncio.gather(
            running.send(topics.CATALOG_COMMANDS, define_cmd, key=define_cmd["package_id"]),
            running.send(topics.ASSIGNMENT_COMMANDS, assign_cmd, key=customer),
        )
    await running.send(topics.ASSIGNMENT_COMMANDS, never, key=customer)
    assigned = await events.wait_count(
        50, timeout=90, event_type="PackageAssigned", customer_id=customer
    )
    assert {body(r)["assignment_id"] for r in assigned} == {a["assignment_id"] for _, a in pairs}
    refused = await one(
        events, timeout=60, event_type="CommandRejected", command_id=never["event_id"]
    )
    assert "unknown package" in refused["reason"]
    rejected = events.matching(event_type="CommandRejected")
    assert {body(r)["command_id"] for r in rejected} & {a["event_id"] for _, a in pairs} == set()


async def test_a_rejection_on_the_compacted_topic_is_followed_by_the_package_state(
    running: System, events: TopicReader
) -> None:
    defined = await define(running, events)
    pid = defined["package_id"]
    await rejected(running, events, topics.CATALOG_COMMANDS, package(pid, currency="EUR"), pid)
    await events.wait_count(2, event_type="PackageDefined", package_id=pid)
    last = [body(r) for r in events.records if r.key == pid.encode()][-1]
    assert last["event_type"] == "PackageDefined" and last["event_id"] == defined["event_id"]


async def test_did_level_assignment_and_spend_limit(running: System, events: TopicReader) -> None:
    pid = (await define(running, events))["package_id"]
    customer = uid("cust")
    cmd = assignment(pid, customer, did="441234567890", free_minutes=250)
    await running.send(topics.ASSIGNMENT_COMMANDS, cmd, key=customer)
    assigned = await one(events, event_type="PackageAssigned", assignment_id=cmd["assignment_id"])
    assert assigned["did"] == "441234567890" and assigned["free_minutes"] == 250

    limit = command("SetSpendLimit", customer_id=customer, monthly_limit="100.50", currency="GBP")
    await running.send(topics.ASSIGNMENT_COMMANDS, limit, key=customer)
    event = await one(events, event_type="SpendLimitSet", customer_id=customer)
    assert event["monthly_limit"] == "100.50" and event["currency"] == "GBP"


async def test_duplicate_commands_give_one_state_change(
    running: System, events: TopicReader
) -> None:
    pid = (await define(running, events))["package_id"]
    customer = uid("cust")
    cmd = assignment(pid, customer)
    for _ in range(3):
        await running.send(topics.ASSIGNMENT_COMMANDS, cmd, key=customer)
    # The same assignment again under a new command id: the same event (same event_id) again.
    retry = dict(cmd, event_id=str(uuid.uuid4()))
    await running.send(topics.ASSIGNMENT_COMMANDS, retry, key=customer)
    marker = command("SetSpendLimit", customer_id=customer, monthly_limit=None, currency="GBP")
    await running.send(topics.ASSIGNMENT_COMMANDS, marker, key=customer)
    await one(events, event_type="SpendLimitSet", customer_id=customer)

    assigned = [
        body(r) for r in events.records if body(r).get("assignment_id") == cmd["assignment_id"]
    ]
    assert len(assigned) == 2
    assert len({a["event_id"] for a in assigned}) == 1

    define_twice = package(uid("p"))
    for _ in range(2):
        await running.send(topics.CATALOG_COMMANDS, define_twice, key=define_twice["package_id"])
    await one(events, event_type="PackageDefined", package_id=define_twice["package_id"])
    marker_pkg = await define(running, events)
    assert marker_pkg["version"] == 1
    versions = [
        body(r)["version"]
        for r in events.records
        if body(r).get("package_id") == define_twice["package_id"]
    ]
    assert versions == [1]


async def test_malformed_input_goes_to_the_dead_letter_topics(
    running: System, events: TopicReader
) -> None:
    bad = [b"{not json", b'{"event_type": "AssignPackage", "quantity": "two"}', b"[]"]
    for payload in bad:
        await running.send(topics.ASSIGNMENT_COMMANDS, payload, key="x")
        await running.send(topics.CATALOG_COMMANDS, payload, key="x")
    dlq = {topics.CATALOG_COMMANDS + ".dlq", topics.ASSIGNMENT_COMMANDS + ".dlq"}
    await events.wait_for(
        lambda rs: sum(1 for r in rs if r.topic.removeprefix(running.prefix) in dlq) >= 6,
        what="6 dead letters",
    )
    letters = [body(r) for r in events.records if r.topic.removeprefix(running.prefix) in dlq]
    assert {base64.b64decode(x["payload_base64"]) for x in letters} == set(bad)
    # ... and the services still work.
    assert (await define(running, events))["version"] == 1
