"""pkgctl's whole-system screens against the running system (all four services as processes):
`status` (and --json), the fleet lists (held, declines, waiting, dlq list), `trace` and
`tail` over several topics. One system, made to hold one of everything the screens show: a
held assignment, a declined charge, a call waiting for the clock, a dead letter."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime
from typing import Any

import pytest

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario
from tests.e2e.cli import ok, pkgctl

TICK = "2076-01-01T12:00:00Z"


@pytest.fixture
async def busy(everything: Scenario) -> dict[str, Any]:
    return await make_busy(everything)


async def make_busy(s: Scenario) -> dict[str, Any]:
    """A held assignment (a tick 50 years after its start), a declined charge (a limit below
    the price), a call after the clock (waiting), poison on catalog.commands (a dead letter),
    a command rejected."""
    held_pkg = await s.define(frequency="monthly", frequency_match=[1], retail="1.00")
    held = await s.assign(held_pkg["package_id"], start_date="2026-01-01")
    dear = await s.define(frequency="monthly", frequency_match=[1], retail="5.00")
    stingy = f"stingy-{uuid.uuid4().hex[:6]}"
    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "SetSpendLimit",
        stingy,
        customer_id=stingy,
        monthly_limit="1.00",
        currency="GBP",
    )
    await s.wait(1, event_type="SpendLimitSet", customer_id=stingy)
    declined = await s.assign(dear["package_id"], customer=stingy, start_date="2076-01-01")
    await s.settle(TICK)
    await s.wait(1, event_type="ChargeDeclined", customer_id=stingy)
    caller = f"caller-{uuid.uuid4().hex[:6]}"
    await s.send(
        topics.USAGE_RATED,
        "UsageRated",
        caller,
        usage_id=str(uuid.uuid4()),
        customer_id=caller,
        amount="0.10",
        currency="GBP",
        occurred_at="2076-01-01T13:00:00Z",
        destination="4420",
        duration_seconds=60,
    )
    await s.system.send(topics.CATALOG_COMMANDS, b"not json", key="poison")
    rejected = await s.send(
        topics.CHARGER_COMMANDS,
        "ReleaseHeldCharges",
        s.customer,
        customer_id=s.customer,
        assignment_id=str(uuid.uuid4()),
    )
    await s.wait(1, event_type="CommandRejected", command_id=rejected["event_id"])
    return {
        "held": held,
        "stingy": stingy,
        "declined": declined,
        "caller": caller,
        "rejected": rejected,
    }


async def _status_until(s: Scenario, done: Any, timeout: float = 60) -> dict[str, Any]:
    """`pkgctl --json status` until `done(status)` (the probes and the allowance's reading
    take a moment), failing with the last status after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await pkgctl(s, "--json", "status")
        last: dict[str, Any] = json.loads(result.stdout)
        if done(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {json.dumps(last)[:6000]}")
        await asyncio.sleep(0.5)


async def test_status_and_the_fleet_lists_show_what_is_there(
    everything: Scenario, busy: dict[str, Any]
) -> None:
    s = everything

    def settled(st: dict[str, Any]) -> bool:
        dlq = {d["topic"]: d["dead_letters"] for d in st["dead_letters"] or []}
        return (
            st["waiting"].get("calls_waiting", 0) >= 1
            and dlq.get(topics.CATALOG_COMMANDS) == 1
            and all(x["lag"] == 0 for x in st["consumer_lag"] or [{"lag": 1}])
        )

    st = await _status_until(s, settled)
    assert [x["service"] for x in st["services"]] == [
        "catalog",
        "assignment",
        "charger",
        "allowance",
    ]
    assert all(x["healthy"] and x["reason"] is None for x in st["services"]), st["services"]
    assert st["held"]["count"] == 1 and st["held"]["items"][0]["assignment_id"] == busy["held"]
    assert st["held"]["items"][0]["reason"] == "catch_up_limit"
    assert st["declines"]["month"] == "2076-01-01" and st["declines"]["count"] == 1
    assert st["declines"]["items"][0]["customer_id"] == busy["stingy"]
    assert st["waiting"]["oldest"]["customer_id"] == busy["caller"]
    assert st["clock"]["charger"].startswith("2076-01-01T12:00:00")
    assert st["clock"]["charger_ahead_seconds"] > 0
    groups = {x["group"].split(".")[0] for x in st["consumer_lag"]}
    assert groups == {"catalog", "assignment", "charger", "allowance"}, st["consumer_lag"]
    assert {x["topic"] for x in st["consumer_lag"]} >= {topics.USAGE_RATED, topics.CLOCK_TICKS}
    newest = next(d for d in st["dead_letters"] if d["topic"] == topics.CATALOG_COMMANDS)
    assert newest["newest"]["key"] == "poison" and newest["newest"]["error"]
    datetime.fromisoformat(newest["newest"]["at"].replace("Z", "+00:00"))
    assert "catalog.commands.dlq: 1 dead letter(s)" in st["problems"]
    assert "1 assignment(s) held (pkgctl held)" in st["problems"]
    assert st["system"].startswith("system: ") and repr(s.system.prefix) in st["system"]

    screen = await ok(s, "status")
    for line in (
        "services:",
        "  catalog     healthy",
        "  allowance   healthy",
        "held assignments: 1",
        "declines in 2076-01: 1",
        f"oldest: {busy['caller']}'s call of 2076-01-01T13:00:00",
        "charger's clock: 2076-01-01T12:00:00",
        "ahead of the wall clock",
    ):
        assert line in screen, screen
    assert "catalog.commands.dlq" in screen and "    1  newest" in screen, screen

    held = await ok(s, "held")
    assert busy["held"] in held and "catch_up_limit" in held and "1 assignment(s) held" in held
    declines = await ok(s, "declines")
    assert "1 charge(s) declined in 2076-01" in declines and busy["stingy"] in declines
    assert "0 charge(s) declined in 2076-02" in await ok(s, "declines", "--month", "2076-02")
    waiting = await ok(s, "waiting")
    assert busy["caller"] in waiting and "2076-01-01T13:00:00" in waiting
    letters = await ok(s, "dlq", "list")
    assert "1 dead letter(s) on 9 .dlq topics" in letters and "catalog.commands.dlq: 1" in letters
    every = json.loads(await ok(s, "--json", "dlq", "list"))
    assert [x["key"] for x in every[topics.CATALOG_COMMANDS]] == ["poison"]
    assert every[topics.USAGE_RATED] == []

    bad = await pkgctl(s, "declines", "--month", "2076-13")
    assert bad.returncode == 2 and "--month" in bad.stderr


async def test_trace_follows_a_command_and_an_assignment(
    everything: Scenario, busy: dict[str, Any]
) -> None:
    s = everything
    rejected = busy["rejected"]["event_id"]
    out = json.loads(await ok(s, "--json", "trace", rejected, "--since", "1h"))
    types = [m["type"] for m in out["messages"]]
    assert types == ["ReleaseHeldCharges", "CommandRejected"], types
    assert out["outcomes"][0]["outcome"] == "rejected"
    assert out["ids"] == [rejected]  # sent without a correlation_id
    screen = await ok(s, "trace", rejected)
    assert "ReleaseHeldCharges" in screen and ": rejected (" in screen

    # An assignment id: its command, its event, the tick's hold of it, in time order.
    out = json.loads(await ok(s, "--json", "trace", busy["held"]))
    types = [m["type"] for m in out["messages"]]
    assert types[:2] == ["AssignPackage", "PackageAssigned"], types
    assert "ChargesHeld" in types
    stamps = [m["at"] for m in out["messages"]]
    assert stamps == sorted(stamps)
    assert [o["outcome"] for o in out["outcomes"]] == ["accepted"]

    # Dead letters carry the id inside their original bytes.
    poison = json.loads(await ok(s, "--json", "trace", "poison"))
    assert [m["type"] for m in poison["messages"]] == ["(not JSON)", "DeadLetter"]

    nothing = await pkgctl(s, "trace", str(uuid.uuid4()), "--since", "10m")
    assert nothing.returncode == 1 and "0 message(s)" in nothing.stdout
    # Cut short after 3 records: which 3 depends on the topics' order, so the id may or may not
    # be among them (exit 0 or 1); either way the answer says it stopped early.
    capped_run = await pkgctl(s, "--json", "trace", busy["held"], "--max", "3")
    assert capped_run.returncode in (0, 1), capped_run.stdout + capped_run.stderr
    capped = json.loads(capped_run.stdout)
    assert capped["cut_short"] is True and capped["read"] == 3


async def test_tail_merges_topics_in_time_order_with_filters(
    everything: Scenario, busy: dict[str, Any]
) -> None:
    s = everything
    lines = (
        await ok(s, "tail", "--json", "catalog.*", "assignment.*", "charger.events")
    ).splitlines()
    kinds = [json.loads(x).get("event_type") for x in lines]
    assert "PackageDefined" in kinds and "PackageAssigned" in kinds and "ChargesHeld" in kinds
    screen = await ok(s, "tail", "assignment.*", "charger.*")
    stamps = [line.split(" ")[0] for line in screen.splitlines() if line.strip()]
    assert stamps == sorted(stamps) and len(stamps) >= 4, screen
    assert "charger.events" in screen and "assignment.events" in screen

    mine = await ok(s, "tail", "--json", "*", "--customer", busy["stingy"])
    objs = [json.loads(x) for x in mine.splitlines()]
    assert objs and all(o["customer_id"] == busy["stingy"] for o in objs)
    assert {"SetSpendLimit", "SpendLimitSet", "ChargeDeclined"} <= {o["event_type"] for o in objs}

    typed = await ok(s, "tail", "--json", "*", "--type", "ChargesHeld", "--type", "ChargeDeclined")
    assert sorted(json.loads(x)["event_type"] for x in typed.splitlines()) == [
        "ChargeDeclined",
        "ChargesHeld",
    ]
    keyed = await ok(s, "tail", "--json", "catalog.commands", "--key", "poison")
    assert keyed.splitlines() == ["{}"]
    last = (await ok(s, "tail", "--json", "assignment.*", "--last", "2")).splitlines()
    assert [(json.loads(x)["event_type"], json.loads(x)["customer_id"]) for x in last] == [
        ("AssignPackage", busy["stingy"]),
        ("PackageAssigned", busy["stingy"]),
    ]
    bad = await pkgctl(s, "tail", "nothing.*")
    assert bad.returncode == 2 and "unknown topic" in bad.stderr
