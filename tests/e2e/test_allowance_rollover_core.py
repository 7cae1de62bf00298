"""Rollover and reversal through Kafka with the four services as processes (docs/contract.md §6
"Rollover", "Reversal"): the February grant of the worked example carries half into a rollover
grant at the settle that expires it; a March call uses the rollover grant first; its
UsageReversed gives every second back (FreeMinutesReturned, balances with returned_seconds);
a second reversal of it changes nothing; a UsageReversed that cannot be read is
dead-lettered. The read API shows what came back and what carried."""

from __future__ import annotations

import uuid
from typing import Any

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario
from pkgtools.testing.system import body, command
from tests.allowance_load import natural_id
from tests.e2e.test_read_api import get


async def _call(s: Scenario, at: str, seconds: int, destination: str = "442071234567") -> str:
    return await s.call(at, seconds, destination=destination)


async def _reverse(s: Scenario, usage_id: str) -> str:
    return str((await s.reverse(usage_id))["reversal_id"])


def _last(s: Scenario, grant_id: str) -> dict[str, Any]:
    return s.of("AllowanceBalance", grant_id=grant_id)[-1]


async def test_rollover_then_a_reversal_through_kafka(everything: Scenario) -> None:
    s = everything
    pkg = await s.define(
        kind="free_minutes",
        retail="5.00",
        frequency="monthly",
        frequency_match=[15],
        free_minutes=100,
        destination_prefixes=["44"],
        rollover_percent=50,
        rollover_days=30,
    )
    await s.assign(pkg["package_id"], quantity=2, start_date="2026-01-10")
    await _call(s, "2026-01-20T10:00:00Z", 300)
    await _call(s, "2026-02-14T09:00:00Z", 12_000)
    await s.settle("2026-03-20T00:00:00Z")
    grants = {g["valid_from"][:10]: g for g in s.of("FreeMinutesGranted", customer_id=s.customer)}
    jan, feb = grants["2026-01-15"]["grant_id"], grants["2026-02-15"]["grant_id"]
    assert grants["2026-02-15"]["rollover_percent"] == 50
    carried = str(uuid.uuid5(uuid.NAMESPACE_URL, "packages:rollover:" + feb))
    first = (await s.wait(1, event_type="AllowanceBalance", grant_id=carried))[0]
    assert (first["rolled_over_from"], first["granted_seconds"], first["status"]) == (
        feb,
        6000,
        "active",
    )
    assert (first["valid_from"], first["valid_until"]) == (
        "2026-03-15T00:00:00Z",
        "2026-04-14T00:00:00Z",
    )
    expired = _last(s, feb)
    assert (expired["status"], expired["rolled_over_seconds"], expired["remaining_seconds"]) == (
        "expired",
        6000,
        6000,
    )
    # January, fully used, carries nothing.
    assert _last(s, jan)["rolled_over_seconds"] == 0
    assert s.of("AllowanceBalance", rolled_over_from=jan) == []

    march = await _call(s, "2026-03-20T10:00:00Z", 7000)
    await s.settle("2026-03-21T00:00:00Z")
    [used] = await s.wait(1, event_type="FreeMinutesUsed", usage_id=march)
    mar = grants["2026-03-15"]["grant_id"]
    assert [(g["grant_id"], g["seconds"]) for g in used["grants"]] == [(carried, 6000), (mar, 1000)]

    reversal_id = await _reverse(s, march)
    [back] = await s.wait(1, event_type="FreeMinutesReturned", usage_id=march)
    assert back["event_id"] == natural_id(f"returned:{march}")
    assert (back["reversal_id"], back["credit"], back["currency"]) == (
        reversal_id,
        used["credit"],
        "GBP",
    )
    assert [(g["grant_id"], g["seconds_returned"], g["seconds_lost"]) for g in back["grants"]] == [
        (carried, 6000, 0),
        (mar, 1000, 0),
    ]
    balance = (
        await s.wait(1, event_type="AllowanceBalance", grant_id=carried, returned_seconds=6000)
    )[0]
    assert (balance["used_seconds"], balance["remaining_seconds"]) == (0, 6000)
    assert balance["event_id"] == natural_id(f"balance:{carried}:0:r6000:active")

    # A second reversal of the call, and one that cannot be read; then a call behind them
    # (the same customer's order): by its FreeMinutesUsed both were read.
    await _reverse(s, march)
    async with s.system.reader(topics.dlq_topic(topics.USAGE_RATED)) as dlq:
        bad = command("UsageReversed", reversal_id=str(uuid.uuid4()), customer_id=s.customer)
        await s.system.send(topics.USAGE_RATED, bad, key=s.customer)
        after = await _call(s, "2026-03-20T11:00:00Z", 60)
        await s.wait(1, event_type="FreeMinutesUsed", usage_id=after)
        letters = await dlq.wait_count(1, timeout=60, event_type="DeadLetter")
    assert any("usage_id" in body(letter)["error"] for letter in letters)
    assert len(s.of("FreeMinutesReturned", usage_id=march)) == 1

    view = await get(s, "allowance", f"/customers/{s.customer}/allowances")
    shown = {g["grant_id"]: g for g in view["grants"]["items"]}
    assert (shown[feb]["rolled_over_seconds"], shown[feb]["remaining_seconds"]) == (6000, 6000)
    assert shown[carried]["rolled_over_from"] == feb
    assert (shown[carried]["used_seconds"], shown[carried]["returned_seconds"]) == (60, 6000)
    assert shown[mar]["returned_seconds"] == 1000
