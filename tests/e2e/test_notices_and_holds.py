"""Notices before charges and the catch-up limit end to end (docs/contract.md §4 ChargeUpcoming,
ChargesHeld, ReleaseHeldCharges, ChargesReleased): the three services as processes, driven
only through Kafka; each tick is followed until its ChargesSettled."""

from __future__ import annotations

import uuid

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario


def natural_id(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packages:{key}"))


async def test_a_notice_seven_days_ahead_in_new_york(charging: Scenario) -> None:
    """Monthly on the 10th in New York, 7 days' notice: the notice moment is midnight in New
    York on the 3rd (05:00 UTC in winter). None for auto_decrement_credit false, for an
    assignment that ends first, or for a package without notice days; exceeds_spend_limit
    tells a customer whose limit the debit would pass."""
    s = charging
    pkg = await s.define(frequency="monthly", frequency_match=[10], retail="5.00", notice_days=7)
    plain = await s.define(frequency="monthly", frequency_match=[10], retail="5.00")
    ny = {"start_date": "2027-01-10", "timezone": "America/New_York"}
    told = await s.assign(pkg["package_id"], **ny)
    manual = await s.assign(pkg["package_id"], auto_decrement_credit=False, **ny)
    ending = await s.assign(pkg["package_id"], end_date="2027-02-05", **ny)
    silent = await s.assign(plain["package_id"], **ny)
    tight = f"{s.customer}-tight"
    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "SetSpendLimit",
        tight,
        customer_id=tight,
        monthly_limit="4.00",
        currency="GBP",
    )
    await s.wait(1, event_type="SpendLimitSet", customer_id=tight)
    over = await s.assign(pkg["package_id"], customer=tight, **ny)

    await s.settle("2027-01-10T05:00:00Z")  # midnight in New York: January is due
    assert len(s.of("CreditDebited", assignment_id=told)) == 1
    await s.settle("2027-02-03T04:59:59Z")  # a second before February's notice moment
    assert s.of("ChargeUpcoming") == []
    await s.settle("2027-02-03T05:00:00Z")
    await s.settle("2027-02-09T00:00:00Z")  # a later tick sends no second notice
    notices = s.of("ChargeUpcoming")
    assert sorted(n["assignment_id"] for n in notices) == sorted([told, over])
    mine = next(n for n in notices if n["assignment_id"] == told)
    assert mine["event_id"] == natural_id(f"upcoming:{told}:2027-02-10")
    assert (mine["period_start"], mine["period_end"], mine["due_at"]) == (
        "2027-02-10",
        "2027-03-10",
        "2027-02-10T05:00:00Z",
    )
    assert (mine["amount"], mine["currency"], mine["package_version"]) == ("5.00", "GBP", 1)
    assert mine["customer_id"] == s.customer and mine["exceeds_spend_limit"] is False
    theirs = next(n for n in notices if n["assignment_id"] == over)
    assert theirs["exceeds_spend_limit"] is True
    for quiet in (manual, ending, silent):
        assert s.of("ChargeUpcoming", assignment_id=quiet) == []

    await s.settle("2027-02-10T05:00:00Z")  # due now: the debit the notice announced
    assert [d["period_start"] for d in s.of("CreditDebited", assignment_id=told)] == [
        "2027-01-10",
        "2027-02-10",
    ]
    assert len(s.of("ChargeUpcoming")) == 2


async def test_a_tick_fifty_years_ahead_holds_until_released(charging: Scenario) -> None:
    """A monthly assignment and a tick 50 years on: ChargesHeld (601 charges) and nothing
    else; later ticks make nothing for it. A release of an unknown assignment is rejected; the
    release answers ChargesReleased, a second one is rejected; the next tick then charges every
    period once, in order."""
    s = charging
    pkg = await s.define(frequency="monthly", frequency_match=[1], retail="1.00")
    aid = await s.assign(pkg["package_id"], start_date="2026-01-01")
    tick = await s.settle("2076-01-01T12:00:00Z")
    held = s.of("ChargesHeld", assignment_id=aid)
    assert len(held) == 1
    h = held[0]
    assert (h["count"], h["first_period_start"], h["last_period_start"]) == (
        601,
        "2026-01-01",
        "2076-01-01",
    )
    assert h["tick_id"] == tick and h["package_id"] == pkg["package_id"]
    assert h["event_id"] == natural_id(f"held:{aid}:2026-01-01")
    await s.settle("2076-02-01T12:00:00Z")
    assert s.of("CreditDebited", assignment_id=aid) == []
    assert len(s.of("ChargesHeld")) == 1

    unknown = await s.send(
        topics.CHARGER_COMMANDS,
        "ReleaseHeldCharges",
        s.customer,
        customer_id=s.customer,
        assignment_id=str(uuid.uuid4()),
    )
    release = await s.send(
        topics.CHARGER_COMMANDS,
        "ReleaseHeldCharges",
        s.customer,
        customer_id=s.customer,
        assignment_id=aid,
    )
    again = await s.send(
        topics.CHARGER_COMMANDS,
        "ReleaseHeldCharges",
        s.customer,
        customer_id=s.customer,
        assignment_id=aid,
    )
    released = await s.wait(1, event_type="ChargesReleased", assignment_id=aid)
    assert released[0]["event_id"] == natural_id(f"released:{release['event_id']}")
    rejected = await s.wait(2, event_type="CommandRejected", command_type="ReleaseHeldCharges")
    assert {r["command_id"] for r in rejected} == {unknown["event_id"], again["event_id"]}

    await s.settle("2076-03-01T12:00:00Z")
    starts = [d["period_start"] for d in s.of("CreditDebited", assignment_id=aid)]
    assert len(starts) == 603 and len(set(starts)) == 603 and starts == sorted(starts)
    assert (starts[0], starts[-1]) == ("2026-01-01", "2076-03-01")
    assert len(s.of("ChargesHeld")) == 1
