"""Rollover and reversal end to end (docs/contract.md §6 Rollover, Reversal and the worked
example's rollover and reversal): the four services as processes, driven only through Kafka.

`uk-100` with rollover_percent 50 and rollover_days 30, two customers each with the worked
example's first part (three calls in January and February, a tick at 2026-03-20). The February
grant, unused, carries 6,000 s into a rollover grant valid 2026-03-15 to 2026-04-14; a call of
7,000 s on 2026-03-20 uses those 6,000 s first, then 1,000 s of March's grant. One customer's
call is reversed while both grants are active (everything goes back, the whole credit is taken
back); the other's after the rollover grant expired (6,000 s lost, March's 1,000 s return).
Besides: a repeated reversal, a second reversal of the same call, a reversal of a call that was
not covered and of one never read emit nothing; a call reversed while it waits is applied, then
reversed; a threshold reached before a return is not sent again when it is reached again."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario
from tests.allowance_load import natural_id

JANUARY_CALLS = (
    ("442071234567", "2026-01-20T10:00:00Z", 300, "0.600000"),
    ("919812345678", "2026-01-20T11:00:00Z", 120, "0.480000"),
    ("442079999999", "2026-02-14T09:00:00Z", 12_000, "24.000000"),
)


async def _call(s: Scenario, customer: str, at: str, seconds: int, amount: str) -> str:
    return await _rated(s, customer, "442071234567", at, seconds, amount)


async def _rated(
    s: Scenario, customer: str, destination: str, at: str, seconds: int, amount: str
) -> str:
    return await s.call(at, seconds, customer=customer, destination=destination, amount=amount)


async def _reverse(s: Scenario, customer: str, usage_id: str) -> dict[str, Any]:
    return await s.reverse(usage_id, customer=customer)


def _grant(s: Scenario, customer: str, valid_from: str) -> dict[str, Any]:
    [grant] = s.of("FreeMinutesGranted", customer_id=customer, valid_from=valid_from)
    return grant


async def _balance(s: Scenario, grant_id: str, key: str) -> dict[str, Any]:
    """The grant's balance whose event id is that of `key` (docs/contract.md §6)."""
    found = (await s.wait(1, event_type="AllowanceBalance", event_id=natural_id(key)))[0]
    assert found["grant_id"] == grant_id
    return found


def _returns(returned: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [
        (g["grant_id"], g["seconds_returned"], g["seconds_lost"], g["remaining_seconds"])
        for g in returned["grants"]
    ]


def _on_used_topic(s: Scenario, customer: str) -> list[tuple[str, str]]:
    """(event_type, usage_id) of the customer's records on billing.free-minutes-used, in order."""
    out = []
    for r in s.reader.records:
        if r.topic.endswith(topics.FREE_MINUTES_USED) and r.key == customer.encode():
            b = r.json()
            out.append((b["event_type"], b["usage_id"]))
    return out


async def test_rollover_and_reversal_of_the_contracts_worked_example(
    everything: Scenario,
) -> None:
    s = everything
    a, b = s.customer, f"{s.customer}-b"
    pkg = await s.define(
        kind="free_minutes",
        retail="5.00",
        frequency="monthly",
        frequency_match=[15],
        free_minutes=100,
        destination_prefixes=["44"],
        notify_at_percent=[80, 100],
        rollover_percent=50,
        rollover_days=30,
    )
    assert (pkg["rollover_percent"], pkg["rollover_days"]) == (50, 30)
    for customer in (a, b):
        await s.assign(pkg["package_id"], customer=customer, quantity=2, start_date="2026-01-10")
    january_calls = []
    for customer in (a, b):
        for destination, at, seconds, amount in JANUARY_CALLS:
            usage_id = await _rated(s, customer, destination, at, seconds, amount)
            if customer == a:
                january_calls.append(usage_id)
    covered_first, uncovered, covered_third = january_calls
    await s.settle("2026-03-20T00:00:00Z")

    # The February grant, unused, expires with 6,000 s carried; January's, used up, carries none.
    rolled: dict[str, str] = {}
    march: dict[str, str] = {}
    for customer in (a, b):
        january = _grant(s, customer, "2026-01-15T00:00:00Z")
        february = _grant(s, customer, "2026-02-15T00:00:00Z")
        march[customer] = _grant(s, customer, "2026-03-15T00:00:00Z")["grant_id"]
        assert (february["rollover_percent"], february["rollover_days"]) == (50, 30)
        feb = february["grant_id"]
        expired = await _balance(s, feb, f"balance:{feb}:0:expired")
        assert (expired["rolled_over_seconds"], expired["remaining_seconds"]) == (6_000, 6_000)
        assert (expired["used_seconds"], expired["granted_seconds"]) == (0, 12_000)
        rg = rolled[customer] = natural_id(f"rollover:{feb}")
        first = await _balance(s, rg, f"balance:{rg}:0:active")
        assert first["rolled_over_from"] == feb
        assert (first["valid_from"], first["valid_until"]) == (
            "2026-03-15T00:00:00Z",
            "2026-04-14T00:00:00Z",
        )
        assert (first["granted_seconds"], first["used_seconds"], first["remaining_seconds"]) == (
            6_000,
            0,
            6_000,
        )
        assert (first["returned_seconds"], first["rolled_over_seconds"]) == (0, 0)
        assert (first["customer_id"], first["did"], first["topup_id"]) == (customer, None, None)
        assert first["assignment_id"] == february["assignment_id"]
        assert first["destination_prefixes"] == ["44"]
        jan = january["grant_id"]
        used_up = await _balance(s, jan, f"balance:{jan}:12000:expired")
        assert (used_up["rolled_over_seconds"], used_up["remaining_seconds"]) == (0, 0)

    # 7,000 s on 2026-03-20: the rollover grant's 6,000 s first (earlier valid_until), then
    # 1,000 s of March's.
    calls = {c: await _call(s, c, "2026-03-20T10:00:00Z", 7_000, "14.000000") for c in (a, b)}
    await s.settle("2026-03-21T00:00:00Z")
    for customer, usage_id in calls.items():
        used = (await s.wait(1, event_type="FreeMinutesUsed", usage_id=usage_id))[0]
        assert used["event_id"] == natural_id(f"used:{usage_id}")
        assert (used["covered_seconds"], Decimal(used["credit"])) == (7_000, Decimal(14))
        assert [(g["grant_id"], g["seconds"], g["remaining_seconds"]) for g in used["grants"]] == [
            (rolled[customer], 6_000, 0),
            (march[customer], 1_000, 11_000),
        ]

    # Reversed while both are active: every second back where it came from, the whole credit.
    first_reversal = await _reverse(s, a, calls[a])
    returned = (await s.wait(1, event_type="FreeMinutesReturned", usage_id=calls[a]))[0]
    assert returned["event_id"] == natural_id(f"returned:{calls[a]}")
    assert (returned["reversal_id"], returned["customer_id"], returned["did"]) == (
        first_reversal["reversal_id"],
        a,
        None,
    )
    assert (Decimal(returned["credit"]), returned["currency"]) == (Decimal(14), "GBP")
    assert _returns(returned) == [(rolled[a], 6_000, 0, 6_000), (march[a], 1_000, 0, 12_000)]
    back = await _balance(s, rolled[a], f"balance:{rolled[a]}:0:r6000:active")
    assert (back["used_seconds"], back["returned_seconds"], back["remaining_seconds"]) == (
        0,
        6_000,
        6_000,
    )
    m = await _balance(s, march[a], f"balance:{march[a]}:0:r1000:active")
    assert (m["used_seconds"], m["returned_seconds"], m["remaining_seconds"]) == (0, 1_000, 12_000)

    # Nothing from: the same reversal again, another reversal of the same call, a reversal of
    # the uncovered call to 91, one of a call never read.
    await s.system.send(topics.USAGE_RATED, first_reversal, key=a)
    await _reverse(s, a, calls[a])
    await _reverse(s, a, uncovered)
    await _reverse(s, a, str(uuid.uuid4()))
    # Calls after the settled moment wait, a reversal behind one waits too: applied, then
    # reversed. 15,600 s reach 80 % of March's grant; reached again after the return, it is not
    # sent again; 100 % is (and marks that every earlier output of the customer is in).
    waiting = await _call(s, a, "2026-03-22T10:00:00Z", 15_600, "31.200000")
    second_reversal = await _reverse(s, a, waiting)
    again = await _call(s, a, "2026-03-22T11:00:00Z", 15_600, "31.200000")
    last = await _call(s, a, "2026-03-22T12:00:00Z", 2_400, "4.800000")
    await s.settle("2026-03-23T00:00:00Z")
    alerts = await s.wait(2, event_type="AllowanceThresholdReached", grant_id=march[a])
    used_last = (await s.wait(1, event_type="FreeMinutesUsed", usage_id=last))[0]
    assert [(g["grant_id"], g["remaining_seconds"]) for g in used_last["grants"]] == [(march[a], 0)]
    assert {(x["percent"], x["usage_id"]) for x in alerts} == {(80, waiting), (100, last)}
    assert [(x["percent"], x["event_id"]) for x in alerts] == [
        (p, natural_id(f"threshold:{march[a]}:{p}")) for p in (80, 100)
    ]
    assert _on_used_topic(s, a) == [
        ("FreeMinutesUsed", covered_first),
        ("FreeMinutesUsed", covered_third),
        ("FreeMinutesUsed", calls[a]),
        ("FreeMinutesReturned", calls[a]),
        ("FreeMinutesUsed", waiting),
        ("FreeMinutesReturned", waiting),
        ("FreeMinutesUsed", again),
        ("FreeMinutesUsed", last),
    ]
    [back_again] = s.of("FreeMinutesReturned", usage_id=waiting)
    assert back_again["reversal_id"] == second_reversal["reversal_id"]
    assert _returns(back_again) == [(rolled[a], 6_000, 0, 6_000), (march[a], 9_600, 0, 12_000)]

    # Read after the rollover grant expired (its window ends 2026-04-14; March's 2026-04-15):
    # its 6,000 s are lost, March's 1,000 s come back, the whole credit is taken back.
    await s.settle("2026-04-14T12:00:00Z")
    gone = await _balance(s, rolled[b], f"balance:{rolled[b]}:6000:expired")
    assert (gone["remaining_seconds"], gone["rolled_over_seconds"]) == (0, 0)
    # Returned seconds count in all: 6,000 by each of the two reversals.
    await _balance(s, rolled[a], f"balance:{rolled[a]}:6000:r12000:expired")
    m = await _balance(s, march[a], f"balance:{march[a]}:12000:r10600:active")
    assert m["remaining_seconds"] == 0
    late_reversal = await _reverse(s, b, calls[b])
    lost = (await s.wait(1, event_type="FreeMinutesReturned", usage_id=calls[b]))[0]
    assert lost["event_id"] == natural_id(f"returned:{calls[b]}")
    assert lost["reversal_id"] == late_reversal["reversal_id"]
    assert Decimal(lost["credit"]) == Decimal(14)
    assert _returns(lost) == [(rolled[b], 0, 6_000, 0), (march[b], 1_000, 0, 12_000)]
    mb = await _balance(s, march[b], f"balance:{march[b]}:0:r1000:active")
    assert (mb["remaining_seconds"], mb["returned_seconds"]) == (12_000, 1_000)
    await s.reader.read_to_end()
    # No rollover of a used-up grant, none of a rollover grant, and the expired rollover grant
    # got nothing back.
    balances = s.of("AllowanceBalance")
    grants = {x["grant_id"] for x in balances}
    for customer in (a, b):
        jan = _grant(s, customer, "2026-01-15T00:00:00Z")["grant_id"]
        assert natural_id(f"rollover:{jan}") not in grants
        assert natural_id(f"rollover:{rolled[customer]}") not in grants
    assert s.of("AllowanceBalance", grant_id=rolled[b])[-1]["event_id"] == gone["event_id"]
    assert len(s.of("FreeMinutesReturned", customer_id=a)) == 2
