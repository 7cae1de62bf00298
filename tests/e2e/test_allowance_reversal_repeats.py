"""Reversals through Kafka with the four services as processes (docs/contract.md §4
UsageReversed, §6 Reversal): a repeated reversal_id is ignored whatever call it names (the
first UsageReversed of a reversal_id counts, migration 0009); a UsageReversed under another
Kafka key than its customer_id, read after its call was applied, still gives the call's
seconds back (the contract keys usage.rated by customer_id; a record under another key is
read, not dead-lettered, but is ordered only with the records of its own partition)."""

from __future__ import annotations

import uuid

from pkgcontract import topics
from pkgshared.kafka import murmur2
from pkgtools.testing.scenario import Scenario


async def _call(s: Scenario, at: str, seconds: int) -> str:
    return await s.call(at, seconds)


async def _reverse(s: Scenario, usage_id: str, reversal_id: str, key: str | None = None) -> None:
    await s.reverse(usage_id, reversal_id=reversal_id, key=key)


async def test_a_repeated_reversal_id_and_a_reversal_under_another_key(
    everything: Scenario,
) -> None:
    s = everything
    pkg = await s.define(
        kind="free_minutes",
        retail="5.00",
        frequency="monthly",
        frequency_match=[15],
        free_minutes=100,
        destination_prefixes=["44"],
    )
    await s.assign(pkg["package_id"], start_date="2026-01-10")
    a = await _call(s, "2026-01-20T10:00:00Z", 60)
    b = await _call(s, "2026-01-20T11:00:00Z", 120)
    c = await _call(s, "2026-01-20T12:00:00Z", 180)
    await s.settle("2026-01-21T00:00:00Z")
    for usage_id in (a, b, c):
        await s.wait(1, event_type="FreeMinutesUsed", usage_id=usage_id)

    # a's reversal, then its reversal_id again naming b: ignored. A reversal of b under a new
    # reversal_id behind it is answered, so the repeat was read by then.
    first = str(uuid.uuid4())
    await _reverse(s, a, first)
    await _reverse(s, b, first)
    await _reverse(s, b, str(uuid.uuid4()))
    [back_b] = await s.wait(1, event_type="FreeMinutesReturned", usage_id=b)
    assert back_b["reversal_id"] != first
    assert [r["reversal_id"] for r in s.of("FreeMinutesReturned", usage_id=a)] == [first]
    assert len(s.of("FreeMinutesReturned", usage_id=b)) == 1

    # c's reversal under another key (its usage_id), read after c was applied: given back.
    other = str(uuid.uuid4())
    await _reverse(s, c, other, key=c)
    [back_c] = await s.wait(1, event_type="FreeMinutesReturned", usage_id=c)
    assert (back_c["reversal_id"], back_c["grants"][0]["seconds_returned"]) == (other, 180)


async def test_a_partly_covered_top_up_call_reversed_keeps_its_threshold(
    everything: Scenario,
) -> None:
    """A top-up (GrantMinutes) of one minute with a threshold at 50 %: a 100 s call is covered
    60 s; its reversal takes the whole credit back and returns 60 s to the top-up's grant; the
    threshold reached before is not sent again when a later call reaches it again."""
    s = everything
    topup_id = str(uuid.uuid4())
    await s.send(
        topics.CHARGER_COMMANDS,
        "GrantMinutes",
        s.customer,
        topup_id=topup_id,
        customer_id=s.customer,
        minutes=1,
        valid_from="2026-01-01T00:00:00Z",
        valid_until="2026-02-01T00:00:00Z",
        notify_at_percent=[50],
    )
    first = await _call(s, "2026-01-10T10:00:00Z", 100)
    await s.settle("2026-01-11T00:00:00Z")
    [grant] = await s.wait(1, event_type="FreeMinutesGranted", topup_id=topup_id)
    [used] = await s.wait(1, event_type="FreeMinutesUsed", usage_id=first)
    assert (used["covered_seconds"], used["amount"], used["credit"]) == (60, "0.200000", "0.120000")
    reversal_id = str(uuid.uuid4())
    await _reverse(s, first, reversal_id)
    [back] = await s.wait(1, event_type="FreeMinutesReturned", usage_id=first)
    assert (back["reversal_id"], back["credit"], back["currency"], back["did"]) == (
        reversal_id,
        "0.120000",
        "GBP",
        None,
    )
    assert back["grants"] == [
        {
            "grant_id": grant["grant_id"],
            "seconds_returned": 60,
            "seconds_lost": 0,
            "remaining_seconds": 60,
        }
    ]
    [balance] = await s.wait(
        1, event_type="AllowanceBalance", grant_id=grant["grant_id"], returned_seconds=60
    )
    assert (balance["topup_id"], balance["used_seconds"], balance["remaining_seconds"]) == (
        topup_id,
        0,
        60,
    )
    second = await _call(s, "2026-01-10T11:00:00Z", 40)
    await s.wait(1, event_type="FreeMinutesUsed", usage_id=second)
    # Its balance is emitted after its alerts would be: then everything of it is there.
    await s.wait(1, event_type="AllowanceBalance", grant_id=grant["grant_id"], used_seconds=40)
    await s.reader.read_to_end()
    [alert] = s.of("AllowanceThresholdReached", grant_id=grant["grant_id"])
    assert (alert["percent"], alert["usage_id"]) == (50, first)


def _key_elsewhere(customer: str) -> str:
    """A Kafka key that lands on another partition of usage.rated than `customer`'s."""
    count = topics.partitions_of(topics.USAGE_RATED)
    home = (murmur2(customer.encode()) & 0x7FFFFFFF) % count
    return next(
        key
        for key in (f"elsewhere-{n}" for n in range(1000))
        if (murmur2(key.encode()) & 0x7FFFFFFF) % count != home
    )


async def test_a_call_reversed_under_another_key_while_it_waits_is_applied_then_reversed(
    everything: Scenario,
) -> None:
    """§6 Reversal: "when its call waits, it waits too". The reversal, read from another
    partition than its call (its key is not its customer's), does not overtake the call."""
    s = everything
    assert topics.partitions_of(topics.USAGE_RATED) > 1
    pkg = await s.define(
        kind="free_minutes",
        retail="5.00",
        frequency="monthly",
        frequency_match=[15],
        free_minutes=100,
    )
    await s.assign(pkg["package_id"], start_date="2026-01-10")
    waits = await _call(s, "2026-01-20T10:00:00Z", 300)  # waits for the tick
    reversal_id = str(uuid.uuid4())
    await _reverse(s, waits, reversal_id, key=_key_elsewhere(s.customer))
    behind = await _call(s, "2026-01-20T11:00:00Z", 60)
    await s.settle("2026-01-21T00:00:00Z")
    await s.wait(1, event_type="FreeMinutesUsed", usage_id=behind)
    [back] = await s.wait(1, event_type="FreeMinutesReturned", usage_id=waits)
    assert (back["reversal_id"], back["grants"][0]["seconds_returned"]) == (reversal_id, 300)
