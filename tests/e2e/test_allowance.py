"""The allowance service end to end (docs/contract.md §6), as a process driven only through Kafka:
the contract's worked example with the other three services, and on its own (grants, calls
and ChargesSettled written to its input topics) under kill -9 and with two instances: every
call applied once, the uses and balances exactly what the rules give."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario
from pkgtools.testing.system import body, command, started_system
from pkgtools.testing.waits import wait_until
from tests.allowance_load import check, natural_id, send, settle, workload


async def test_the_contracts_worked_example(everything: Scenario) -> None:
    s = everything
    pkg = await s.define(
        kind="free_minutes",
        retail="5.00",
        frequency="monthly",
        frequency_match=[15],
        free_minutes=100,
        destination_prefixes=["44"],
        notify_at_percent=[100, 80],
    )
    assert pkg["notify_at_percent"] == [80, 100]
    await s.assign(pkg["package_id"], quantity=2, start_date="2026-01-10")
    calls = [
        ("442071234567", "2026-01-20T10:00:00Z", 300, "0.600000"),
        ("919812345678", "2026-01-20T11:00:00Z", 120, "0.480000"),
        ("442079999999", "2026-02-14T09:00:00Z", 12_000, "24.000000"),
    ]
    ids = []
    for destination, at, seconds, amount in calls:
        usage_id = str(uuid.uuid4())
        ids.append(usage_id)
        await s.send(
            topics.USAGE_RATED,
            "UsageRated",
            s.customer,
            usage_id=usage_id,
            customer_id=s.customer,
            amount=amount,
            currency="GBP",
            occurred_at=at,
            destination=destination,
            duration_seconds=seconds,
        )
    await s.settle("2026-03-20T00:00:00Z")
    used = await s.wait(2, event_type="FreeMinutesUsed", customer_id=s.customer)
    january = next(
        g for g in s.of("FreeMinutesGranted") if g["valid_from"] == "2026-01-15T00:00:00Z"
    )
    assert [u["usage_id"] for u in used] == [ids[0], ids[2]]
    first, third = used
    assert first["event_id"] == natural_id(f"used:{ids[0]}")
    assert (first["covered_seconds"], Decimal(first["credit"]), first["amount"]) == (
        300,
        Decimal("0.6"),
        "0.600000",
    )
    assert first["grants"] == [
        {"grant_id": january["grant_id"], "seconds": 300, "remaining_seconds": 11_700}
    ]
    assert (third["covered_seconds"], Decimal(third["credit"])) == (11_700, Decimal("23.4"))
    assert third["grants"] == [
        {"grant_id": january["grant_id"], "seconds": 11_700, "remaining_seconds": 0}
    ]
    assert (third["duration_seconds"], third["destination"]) == (12_000, "442079999999")
    # The January grant's last balance: all used, expired (the settled tick passed it).
    await s.reader.wait_for(
        lambda _: _last_balance(s, january["grant_id"]).get("status") == "expired",
        timeout=60,
        what="the January grant's expired balance",
    )
    last = _last_balance(s, january["grant_id"])
    assert (last["status"], last["remaining_seconds"], last["granted_seconds"]) == (
        "expired",
        0,
        12_000,
    )
    assert last["event_id"] == natural_id(f"balance:{january['grant_id']}:12000:expired")
    # Calls before expiry: the grant's balances in order, the expiry last. The two calls may
    # give a balance each (300, then 12,000) or, applied together, one with their end state
    # (docs/contract.md §6): every balance is a state the grant passed through.
    balances = [
        (b["used_seconds"], b["status"])
        for b in s.of("AllowanceBalance", grant_id=january["grant_id"])
    ]
    assert balances in (
        [(0, "active"), (300, "active"), (12_000, "active"), (12_000, "expired")],
        [(0, "active"), (12_000, "active"), (12_000, "expired")],
    )
    # The third call reached 80 and 100 percent of it: one alert each, in order.
    assert january["notify_at_percent"] == [80, 100]
    alerts = await s.wait(2, event_type="AllowanceThresholdReached", grant_id=january["grant_id"])
    assert [(a["percent"], a["used_seconds"], a["usage_id"]) for a in alerts] == [
        (80, 12_000, ids[2]),
        (100, 12_000, ids[2]),
    ]
    assert alerts[0]["event_id"] == natural_id(f"threshold:{january['grant_id']}:80")


def _assigned(process: Any) -> set[int]:
    """The usage.rated partitions the instance's log says it reads now."""
    held: set[int] = set()
    for line in process.log_path.read_text().splitlines():
        if '"usage partitions assigned' in line:
            held = {int(p) for p in json.loads(line)["resume"]}
        elif '"usage partitions revoked"' in line:
            held -= set(json.loads(line)["partitions"])
    return held


def _shared_out(one: Any, two: Any) -> bool:
    a, b = _assigned(one), _assigned(two)
    return (
        bool(a) and bool(b) and not a & b and len(a | b) == topics.partitions_of(topics.USAGE_RATED)
    )


def _last_balance(s: Scenario, grant_id: str) -> dict[str, Any]:
    found = s.of("AllowanceBalance", grant_id=grant_id)
    return found[-1] if found else {}


@pytest.mark.parametrize(
    "fault", ["allowance_before_commit@2", "allowance_after_commit@2", "outbox_published@3"]
)
async def test_kill_9_while_applying_then_restart_applies_every_call_once(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, fault: str
) -> None:
    want = workload(seed=sum(map(ord, fault)))
    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        allowance = system.service("allowance", APPLY_BATCH_CUSTOMERS="5")
        allowance.start(FAULT_INJECT=fault)
        allowance.wait_healthy()
        await send(system, want["messages"])
        await settle(system)
        code = await asyncio.to_thread(allowance.wait_exit, 120)
        assert code == -9, allowance.tail()
        allowance.start()
        await check(system, want)


async def test_two_instances_share_the_calls_and_apply_each_once(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    want = workload(seed=7)
    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        one = system.service("allowance", instance="a", APPLY_BATCH_CUSTOMERS="1")
        two = system.service("allowance", instance="b", APPLY_BATCH_CUSTOMERS="1")
        shared = {"DB_SCHEMA": one.env["DB_SCHEMA"], "CONSUMER_GROUP": "allowance"}
        one.env.update(shared)
        two.env.update(shared)
        for process in (one, two):
            process.start()
        for process in (one, two):
            process.wait_healthy()
        # Each instance applies the calls of the usage.rated partitions it reads: wait until
        # the group has shared them out.
        await wait_until(lambda: _shared_out(one, two), "usage.rated shared by the instances", 90)
        # A poison call among them: a negative duration is unreadable (DeadLetter).
        bad = command(
            "UsageRated",
            usage_id=str(uuid.uuid4()),
            customer_id="cust-000",
            amount="1.00",
            currency="GBP",
            occurred_at="2026-01-05T00:00:00Z",
            destination="4420",
            duration_seconds=-5,
        )
        await send(system, [*want["messages"], (topics.USAGE_RATED, "cust-000", bad)])
        await settle(system)
        await check(system, want)
        async with system.reader(topics.dlq_topic(topics.USAGE_RATED)) as dlq:
            letters = await dlq.wait_count(1, timeout=30, event_type="DeadLetter")
        assert "duration_seconds" in body(letters[0])["error"]
        assert body(letters[0])["consumer"].startswith("allowance")
        worked = [p for p in (one, two) if '"calls applied"' in p.log_path.read_text()]
        assert len(worked) == 2, "both instances should have applied calls"


async def test_a_call_far_ahead_is_parked_through_a_restart_and_applied_in_order(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    """A clock set wrong upstream dates one of a customer's calls a year ahead. The other
    customer's call and the customer's call before it are applied at once; its calls behind
    it wait (parked, through a restart) and are applied in the order read once the charger
    settles past it."""
    grants = []
    for customer in ("far-a", "far-b"):
        grant_id = str(uuid.uuid4())
        grants.append(
            (
                topics.FREE_MINUTES_GRANTED,
                customer,
                command(
                    "FreeMinutesGranted",
                    event_id=grant_id,
                    grant_id=grant_id,
                    customer_id=customer,
                    did=None,
                    assignment_id=str(uuid.uuid4()),
                    package_id="pkg",
                    minutes=10,
                    destination_prefixes=["44"],
                    valid_from="2026-01-01T00:00:00Z",
                    valid_until="2028-01-01T00:00:00Z",
                ),
            )
        )

    def call(customer: str, at: str) -> tuple[str, str, dict[str, Any]]:
        usage_id = str(uuid.uuid4())
        message = command(
            "UsageRated",
            event_id=usage_id,
            usage_id=usage_id,
            customer_id=customer,
            amount="0.600000",
            currency="GBP",
            occurred_at=at,
            destination="442071234567",
            duration_seconds=60,
        )
        return (topics.USAGE_RATED, customer, message)

    a1, far, a3 = (
        call("far-a", at)
        for at in ("2026-02-01T00:00:00Z", "2027-02-01T00:00:00Z", "2026-02-02T00:00:00Z")
    )
    b1 = call("far-b", "2026-02-01T00:00:00Z")

    def used(records: list[Any]) -> list[tuple[str, int]]:
        return [
            (b["usage_id"], b["grants"][0]["remaining_seconds"])
            for b in map(body, records)
            if b.get("event_type") == "FreeMinutesUsed"
        ]

    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        allowance = system.service("allowance")
        allowance.start()
        allowance.wait_healthy()
        await send(system, grants)
        await settle(system)  # 2026-03-01
        await send(system, [a1, far, a3, b1])
        async with system.reader(topics.FREE_MINUTES_USED) as reader:
            await reader.wait_for(lambda rs: len(used(rs)) >= 2, timeout=60, what="a1 and b1")
            await wait_until(
                lambda: '"calls parked' in allowance.log_path.read_text(), "calls parked", 30
            )
            allowance.stop()
            allowance.start()
            allowance.wait_healthy()
            await reader.poll(2.0)
            assert sorted(used(reader.records)) == sorted(
                [(a1[2]["usage_id"], 540), (b1[2]["usage_id"], 540)]
            )
            later = command("ChargesSettled", tick_id=str(uuid.uuid4()), at="2027-03-01T00:00:00Z")
            await system.send(topics.CHARGER_PROGRESS, later, key="clock")
            await reader.wait_for(lambda rs: len(used(rs)) >= 4, timeout=60, what="the parked")
            await reader.poll(1.0)
            a_used = [u for u in used(reader.records) if u[0] != b1[2]["usage_id"]]
        assert a_used == [
            (a1[2]["usage_id"], 540),
            (far[2]["usage_id"], 480),
            (a3[2]["usage_id"], 420),
        ]
