"""The charger end to end (docs/contract.md §5): all three services as processes, driven only
through Kafka. Each test has its own topics, schemas and clock."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario


def debit_id(assignment_id: str, period: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packages:debit:{assignment_id}:{period}"))


async def test_the_worked_example_and_a_repeated_tick(charging: Scenario) -> None:
    s = charging
    pkg = await s.define(
        kind="free_minutes",
        retail="5.00",
        currency="GBP",
        frequency="monthly",
        frequency_match=[15],
        free_minutes=100,
        destination_prefixes=["44"],
    )
    aid = await s.assign(
        pkg["package_id"],
        quantity=2,
        start_date="2026-01-10",
        auto_decrement_credit=True,
        timezone="UTC",
    )
    await s.tick("2026-03-20T00:00:00Z")
    debits = await s.wait(3, event_type="CreditDebited", assignment_id=aid)
    grants = await s.wait(3, event_type="FreeMinutesGranted", assignment_id=aid)

    assert [d["period_start"] for d in debits] == ["2026-01-15", "2026-02-15", "2026-03-15"]
    assert [d["period_end"] for d in debits] == ["2026-02-15", "2026-03-15", "2026-04-15"]
    assert {(d["amount"], d["currency"], d["kind"], d["reason"]) for d in debits} == {
        ("10.00", "GBP", "recurring", "scheduled")
    }
    assert [d["debit_id"] for d in debits] == [
        debit_id(aid, p) for p in ("2026-01-15", "2026-02-15", "2026-03-15")
    ]
    assert all(d["event_id"] == d["debit_id"] for d in debits)
    assert grants[0]["minutes"] == 200 and grants[0]["destination_prefixes"] == ["44"]
    assert grants[0]["valid_from"] == "2026-01-15T00:00:00Z"
    assert grants[0]["valid_until"] == "2026-02-15T00:00:00Z"

    # The same tick again, then a marker that proves it was processed: nothing new for aid.
    await s.tick("2026-03-20T00:00:00Z")
    marker_pkg = await s.define(kind="recurring", frequency="daily", frequency_match=[])
    marker = await s.assign(marker_pkg["package_id"], start_date="2026-03-21")
    await s.tick("2026-03-21T00:00:00Z")
    await s.wait(1, event_type="CreditDebited", assignment_id=marker)
    assert len(s.of("CreditDebited", assignment_id=aid)) == 3
    assert len(s.of("FreeMinutesGranted", assignment_id=aid)) == 3


async def test_frequencies_setup_end_date_did_and_auto_decrement(charging: Scenario) -> None:
    s = charging
    daily = await s.define(frequency="daily", frequency_match=[], retail="0.10")
    weekly = await s.define(frequency="weekly", frequency_match=[1, 5], retail="2.00")
    yearly = await s.define(
        frequency="yearly",
        frequency_match=["02-29"],
        retail="100.00",
        setup_retail="25.00",
        setup_cost="5.00",
        cost="60.00",
    )
    twice = await s.define(frequency="monthly", frequency_match=[15, 31], retail="3.00")
    fm = await s.define(
        kind="free_minutes",
        frequency="monthly",
        frequency_match=[1],
        retail="4.00",
        free_minutes=50,
    )
    d = await s.assign(daily["package_id"], start_date="2026-01-01", end_date="2026-01-05")
    w = await s.assign(weekly["package_id"], start_date="2026-01-01", did="441234567890")
    y = await s.assign(yearly["package_id"], start_date="2026-01-01", quantity=2)
    t = await s.assign(twice["package_id"], start_date="2026-01-01")
    off = await s.assign(
        fm["package_id"], start_date="2026-01-01", auto_decrement_credit=False, free_minutes=70
    )
    await s.tick("2028-03-01T00:00:00Z")

    assert len(await s.wait(5, event_type="CreditDebited", assignment_id=d)) == 5
    weekly_debits = await s.wait(113, event_type="CreditDebited", assignment_id=w)
    assert weekly_debits[0]["period_start"] == "2026-01-02"  # a Friday
    assert weekly_debits[0]["period_end"] == "2026-01-05"  # the next Monday
    assert {x["did"] for x in weekly_debits} == {"441234567890"}
    yd = await s.wait(4, event_type="CreditDebited", assignment_id=y)
    assert [(x["kind"], x["period_start"], x["amount"], x["cost"]) for x in yd] == [
        ("setup", "2026-01-01", "50.00", "10.00"),
        ("recurring", "2026-02-28", "200.00", "120.00"),
        ("recurring", "2027-02-28", "200.00", "120.00"),
        ("recurring", "2028-02-29", "200.00", "120.00"),
    ]
    td = await s.wait(50, event_type="CreditDebited", assignment_id=t)
    feb = [(x["period_start"], x["period_end"]) for x in td if x["period_start"][:7] == "2026-02"]
    assert feb == [("2026-02-15", "2026-02-28"), ("2026-02-28", "2026-03-15")]
    grants = await s.wait(27, event_type="FreeMinutesGranted", assignment_id=off)
    assert {g["minutes"] for g in grants} == {70}

    # Exact counts, against a day-by-day count, once a later tick proves the first was done.
    marker_pkg = await s.define(frequency="daily", frequency_match=[])
    marker = await s.assign(marker_pkg["package_id"], start_date="2028-03-02")
    await s.tick("2028-03-02T00:00:00Z")
    await s.wait(1, event_type="CreditDebited", assignment_id=marker)
    days = [
        date(2026, 1, 1) + timedelta(n)
        for n in range((date(2028, 3, 1) - date(2026, 1, 1)).days + 1)
    ]
    expected = {
        d: 5,
        w: sum(1 for x in days if x.isoweekday() in (1, 5)),
        y: 4,
        t: sum(
            1
            for x in days
            if x.day == 15 or x == (x.replace(day=28) + timedelta(4)).replace(day=1) - timedelta(1)
        ),
        off: 0,
    }
    got = {a: len(s.of("CreditDebited", assignment_id=a)) for a in expected}
    assert got == expected
    assert len(s.of("FreeMinutesGranted", assignment_id=off)) == 27


async def test_minimum_spend_with_usage_and_a_duplicated_usage_id(charging: Scenario) -> None:
    s = charging
    pkg = await s.define(
        kind="minimum_spend", retail="30.00", frequency="monthly", frequency_match=[1]
    )
    customer_level = await s.assign(pkg["package_id"], start_date="2026-01-01")
    did_level = await s.assign(pkg["package_id"], start_date="2026-01-01", did="447000000001")

    async def use(amount: str, when: str, did: str | None = None, uid: str | None = None) -> None:
        fields = {
            "usage_id": uid or str(uuid.uuid4()),
            "customer_id": s.customer,
            "amount": amount,
            "currency": "GBP",
            "occurred_at": when,
        }
        if did:
            fields["did"] = did
        await s.send(topics.USAGE_RATED, "UsageRated", s.customer, **fields)

    repeated = str(uuid.uuid4())
    await use("12.50", "2026-01-05T10:00:00Z", "447000000001", repeated)
    await use("12.50", "2026-01-05T10:00:00Z", "447000000001", repeated)  # ignored
    await use("5.00", "2026-01-31T23:59:59Z")
    await use("15.00", "2026-01-10T00:00:00Z")
    await use("1.00", "2026-01-10T00:00:00Z", uid=str(uuid.uuid4()))
    await use("99.00", "2026-02-01T00:00:00Z")  # the next period
    await s.tick("2026-02-01T00:00:00Z")
    january = (await s.wait(1, event_type="CreditDebited", assignment_id=did_level))[0]
    # The DID's own usage only: 30 - 12.50 (counted once).
    assert january["amount"] == "17.50" and january["kind"] == "minimum_spend"
    assert (january["period_start"], january["period_end"]) == ("2026-01-01", "2026-02-01")

    await use("50.00", "2026-01-15T00:00:00Z", "447000000001")  # after settlement: no change
    await s.tick("2026-03-01T00:00:00Z")
    debits = await s.wait(2, event_type="CreditDebited", assignment_id=did_level)
    assert [(d["period_start"], d["amount"]) for d in debits] == [
        ("2026-01-01", "17.50"),
        ("2026-02-01", "30.00"),
    ]
    # Customer level: January spend 12.50 + 5 + 15 + 1 = 33.50 and February 99 cover it.
    assert s.of("CreditDebited", assignment_id=customer_level) == []


async def test_spend_limit_declines_once_and_stays_declined(charging: Scenario) -> None:
    s = charging
    pkg = await s.define(frequency="monthly", frequency_match=[1, 15], retail="20.00")
    limit = await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "SetSpendLimit",
        s.customer,
        customer_id=s.customer,
        monthly_limit="50.00",
        currency="GBP",
    )
    await s.wait(1, event_type="SpendLimitSet", customer_id=s.customer)
    first = await s.assign(pkg["package_id"], start_date="2026-01-01")
    second = await s.assign(pkg["package_id"], start_date="2026-01-01")
    await s.tick("2026-01-16T00:00:00Z")
    # Order: period_start, then assignment_id. 4 charges of 20 against 50: two go through.
    declined = await s.wait(2, event_type="ChargeDeclined", customer_id=s.customer)
    charged = await s.wait(2, event_type="CreditDebited", customer_id=s.customer)
    ordered = sorted([first, second])
    assert [(c["period_start"], c["assignment_id"]) for c in charged] == [
        ("2026-01-01", ordered[0]),
        ("2026-01-01", ordered[1]),
    ]
    assert {(d["period_start"], d["reason"], d["amount"]) for d in declined} == {
        ("2026-01-15", "spend_limit_exceeded", "20.00")
    }

    # Raising the limit does not charge the declined periods later; new periods are charged.
    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "SetSpendLimit",
        s.customer,
        customer_id=s.customer,
        monthly_limit="1000.00",
        currency="GBP",
    )
    await s.wait(2, event_type="SpendLimitSet", customer_id=s.customer)
    await s.tick("2026-02-01T00:00:00Z")
    charged = await s.wait(4, event_type="CreditDebited", customer_id=s.customer)
    assert sorted(c["period_start"] for c in charged) == [
        "2026-01-01",
        "2026-01-01",
        "2026-02-01",
        "2026-02-01",
    ]
    assert len(s.of("ChargeDeclined", customer_id=s.customer)) == 2
    del limit


async def test_quantity_change_and_new_package_version_apply_from_the_next_period(
    charging: Scenario,
) -> None:
    s = charging
    pkg = await s.define(frequency="monthly", frequency_match=[1], retail="10.00")
    aid = await s.assign(pkg["package_id"], start_date="2026-01-01", quantity=1)
    await s.tick("2026-01-15T00:00:00Z")
    await s.wait(1, event_type="CreditDebited", assignment_id=aid)

    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "ChangeAssignment",
        s.customer,
        assignment_id=aid,
        quantity=3,
        effective_from="2026-02-01",
    )
    await s.wait(1, event_type="AssignmentChanged", assignment_id=aid)
    await s.define(
        pkg["package_id"],
        frequency="monthly",
        frequency_match=[1],
        retail="12.00",
        effective_from="2026-03-01",
    )
    await s.tick("2026-03-15T00:00:00Z")
    debits = await s.wait(3, event_type="CreditDebited", assignment_id=aid)
    assert [(d["period_start"], d["amount"], d["package_version"]) for d in debits] == [
        ("2026-01-01", "10.00", 1),
        ("2026-02-01", "30.00", 1),
        ("2026-03-01", "36.00", 2),
    ]

    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "EndAssignment",
        s.customer,
        assignment_id=aid,
        end_date="2026-04-30",
    )
    await s.wait(1, event_type="AssignmentEnded", assignment_id=aid)
    await s.tick("2026-12-01T00:00:00Z")
    debits = await s.wait(4, event_type="CreditDebited", assignment_id=aid)
    marker_pkg = await s.define(frequency="daily", frequency_match=[])
    marker = await s.assign(marker_pkg["package_id"], start_date="2026-12-02")
    await s.tick("2026-12-02T00:00:00Z")
    await s.wait(1, event_type="CreditDebited", assignment_id=marker)
    assert [d["period_start"] for d in s.of("CreditDebited", assignment_id=aid)] == [
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
        "2026-04-01",
    ]


async def test_run_package_simulate_then_real_then_real_again(charging: Scenario) -> None:
    s = charging
    pkg = await s.define(
        kind="free_minutes",
        frequency="monthly",
        frequency_match=[1],
        retail="5.00",
        free_minutes=10,
        setup_retail="2.00",
    )
    aid = await s.assign(pkg["package_id"], start_date="2026-01-01", quantity=2)
    await s.tick("2026-01-20T00:00:00Z")  # charges setup + January
    await s.wait(2, event_type="CreditDebited", assignment_id=aid)

    async def run(simulate: bool) -> dict[str, object]:
        request = str(uuid.uuid4())
        await s.send(
            topics.CHARGER_COMMANDS,
            "RunPackage",
            s.customer,
            request_id=request,
            customer_id=s.customer,
            date="2026-03-10",
            simulate=simulate,
        )
        return (await s.wait(1, event_type="PackageRunReported", request_id=request))[0]

    simulated = await run(True)
    lines = {(ln["kind"], ln["period_start"]): ln["status"] for ln in simulated["lines"]}
    assert lines == {
        ("setup", "2026-01-01"): "already_charged",
        ("recurring", "2026-01-01"): "already_charged",
        ("grant", "2026-01-01"): "already_charged",
        ("recurring", "2026-02-01"): "would_charge",
        ("grant", "2026-02-01"): "would_charge",
        ("recurring", "2026-03-01"): "would_charge",
        ("grant", "2026-03-01"): "would_charge",
    }
    assert simulated["totals"] == {"GBP": "20.00"}
    assert len(s.of("CreditDebited", assignment_id=aid)) == 2  # a simulation changes nothing

    real = await run(False)
    assert {ln["status"] for ln in real["lines"] if ln["period_start"] > "2026-01-01"} == {
        "charged"
    }
    assert real["totals"] == {"GBP": "20.00"}
    debits = await s.wait(4, event_type="CreditDebited", assignment_id=aid)
    assert {d["reason"] for d in debits[2:]} == {"run_package"}

    again = await run(False)
    assert {ln["status"] for ln in again["lines"]} == {"already_charged"}
    assert again["totals"] == {}
    await s.tick("2026-03-10T00:00:00Z")  # the tick finds nothing left to make for March
    marker_pkg = await s.define(frequency="daily", frequency_match=[])
    marker = await s.assign(marker_pkg["package_id"], start_date="2026-03-10")
    await s.tick("2026-03-11T00:00:00Z")
    await s.wait(1, event_type="CreditDebited", assignment_id=marker)
    assert len(s.of("CreditDebited", assignment_id=aid)) == 4
    assert len(s.of("FreeMinutesGranted", assignment_id=aid)) == 3


async def test_a_report_of_more_than_2000_lines_comes_in_parts(charging: Scenario) -> None:
    s = charging
    pkg = await s.define(frequency="daily", frequency_match=[], retail="0.10")
    await s.assign(pkg["package_id"], start_date="2020-01-01")
    request = str(uuid.uuid4())
    await s.send(
        topics.CHARGER_COMMANDS,
        "RunPackage",
        s.customer,
        request_id=request,
        customer_id=s.customer,
        date="2025-12-31",
        simulate=False,  # a simulation over the catch-up limit is one held line: a real run
    )
    parts = await s.wait(2, event_type="PackageRunReported", request_id=request)
    parts.sort(key=lambda p: p["part"])
    # Everything due by the end of the date: 2020-01-01 to 2026-01-01, 2,193 daily debits.
    days = (date(2026, 1, 1) - date(2020, 1, 1)).days + 1
    assert [(p["part"], p["parts"], len(p["lines"])) for p in parts] == [
        (1, 2, 2000),
        (2, 2, days - 2000),
    ]
    assert all(p["totals"] == {"GBP": f"{days * Decimal('0.10'):.2f}"} for p in parts)
    starts = [ln["period_start"] for p in parts for ln in p["lines"]]
    assert starts == sorted(starts) and len(set(starts)) == days
    assert len({p["event_id"] for p in parts}) == 2
