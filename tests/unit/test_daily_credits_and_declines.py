"""Issue 32 item 5, through the handlers on the fakes: a daily package with proration "daily"
credits each day debited after an end, whole, once (docs/contract.md §7); a declined debit withholds
only its own period's free minutes (§5), whatever was declined (setup, a period, a minimum
spend), on ticks and in RunPackage's lines."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from charger.domain.decisions import decide
from charger.domain.model import MonthTotals, SpendLimit
from charger.domain.proration import Debited, credits
from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    PackageAssigned,
    PackageDefined,
    RunPackage,
    SpendLimitSet,
)
from tests.unit.test_charger_histories import FakeCharger
from tests.unit.test_charges import assignment, version
from tests.unit.test_charges import at as utc


def _package(package_id: str, **over: Any) -> PackageDefined:
    fields: dict[str, Any] = {
        "package_id": package_id,
        "version": 1,
        "name": package_id,
        "kind": "recurring",
        "retail": "2.00",
        "currency": "USD",
        "frequency": "daily",
        "frequency_match": [],
        "effective_from": None,
        "proration": "daily",
        **over,
    }
    return PackageDefined(**fields)


def _assigned(package: PackageDefined, start: date, **over: Any) -> PackageAssigned:
    fields: dict[str, Any] = {
        "assignment_id": uuid.uuid4(),
        "customer_id": "acme",
        "package_id": package.package_id,
        "package_version": 1,
        "quantity": 1,
        "start_date": start,
        "auto_decrement_credit": True,
        "timezone": "UTC",
        **over,
    }
    return PackageAssigned(**fields)


def _ended(a: PackageAssigned, end: date) -> AssignmentEnded:
    return AssignmentEnded(
        assignment_id=a.assignment_id,
        customer_id=a.customer_id,
        package_id=a.package_id,
        end_date=end,
    )


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


async def _credited(charger: FakeCharger) -> list[tuple[str, str, int, str]]:
    return [
        (c["period_start"], c["credited_from"], c["credited_days"], c["amount"])
        for c in await charger.events("CreditIssued")
    ]


# ------------------------------------------------------------ (a) daily packages credit


def test_a_daily_version_credits_each_day_after_the_end_whole() -> None:
    daily = version(frequency="daily", frequency_match=(), proration="daily", retail=Decimal(3))
    a = assignment(start_date=date(2026, 1, 1))
    made = [
        Debited(f"debit:{a.assignment_id}:{d}", d, d + timedelta(days=1), Decimal(6), None,
                "GBP", None, 1)
        for d in (date(2026, 1, 1) + timedelta(days=n) for n in range(10))
    ]  # fmt: skip
    found = credits(dataclasses.replace(a, end_date=date(2026, 1, 7)), [daily], made)
    assert [(c.credited_from, c.credited_days, c.amount) for c in found] == [
        (date(2026, 1, 8), 1, Decimal(6)),
        (date(2026, 1, 9), 1, Decimal(6)),
        (date(2026, 1, 10), 1, Decimal(6)),
    ]
    assert found[0].key == f"credit:{a.assignment_id}:2026-01-08"
    none = dataclasses.replace(daily, proration="none")
    assert credits(dataclasses.replace(a, end_date=date(2026, 1, 7)), [none], made) == []


async def test_a_daily_package_ended_early_while_running_credits_every_day_after_the_end() -> None:
    charger, package = FakeCharger(), _package("daily-seat")
    a = _assigned(package, date(2026, 1, 1))
    await charger.project([package, a])
    await charger.tick(datetime(2026, 5, 17, 0, 0, 1, tzinfo=UTC))  # far ahead: through 05-17
    assert len(await charger.events("CreditDebited")) == 137
    await charger.project([_ended(a, date(2026, 1, 25))])
    credited = await _credited(charger)
    assert [c[0] for c in credited] == _days(date(2026, 1, 26), date(2026, 5, 17))
    assert len(credited) == 112
    # Each day a period of its own: credited from its start, whole, for its debit's amount.
    assert all(c[1] == c[0] and c[2] == 1 and c[3] == "2.000000" for c in credited)
    keys = {c["credit_id"] for c in await charger.events("CreditIssued")}
    assert len(keys) == 112


async def test_a_finished_daily_assignment_ended_earlier_credits_its_days_after_the_end() -> None:
    charger, package = FakeCharger(), _package("daily-seat")
    a = _assigned(package, date(2026, 1, 1), end_date=date(2026, 1, 31))
    await charger.project([package, a])
    await charger.tick(datetime(2026, 3, 1, tzinfo=UTC))
    assert len(await charger.events("CreditDebited")) == 31  # finished on 01-31
    await charger.project([_ended(a, date(2026, 1, 20))])
    assert [c[0] for c in await _credited(charger)] == _days(date(2026, 1, 21), date(2026, 1, 31))


async def test_a_daily_package_ended_twice_credits_each_day_once() -> None:
    """Moved earlier again: the days between the two ends are credited now, each once; moved
    later: nothing is credited or charged back, and days past the charged ones that are inside
    the assignment are charged when due."""
    charger, package = FakeCharger(), _package("daily-seat", retail="1.50")
    a = _assigned(package, date(2026, 1, 1), quantity=2)
    await charger.project([package, a])
    await charger.tick(datetime(2026, 2, 10, 12, tzinfo=UTC))  # through 02-10
    await charger.project([_ended(a, date(2026, 2, 1))])
    await charger.project([_ended(a, date(2026, 1, 25))])  # back to back, earlier
    credited = await _credited(charger)
    assert [c[0] for c in credited] == _days(date(2026, 2, 2), date(2026, 2, 10)) + _days(
        date(2026, 1, 26), date(2026, 2, 1)
    )
    assert {(c[2], c[3]) for c in credited} == {(1, "3.000000")}
    changed = AssignmentChanged(
        **a.model_dump(exclude={"event_type", "event_id", "end_date"}),
        end_date=date(2026, 2, 15),
        effective_from=a.start_date,
    )
    await charger.project([changed])  # later than the days charged: 02-11..02-15 are due now
    assert len(await _credited(charger)) == 16
    debits = [d["period_start"] for d in await charger.events("CreditDebited")]
    assert debits[-1] == "2026-02-10"  # the clock is still on 02-10
    await charger.tick(datetime(2026, 3, 1, tzinfo=UTC))
    debits = [d["period_start"] for d in await charger.events("CreditDebited")]
    assert debits == _days(date(2026, 1, 1), date(2026, 2, 15))  # none charged back twice
    await charger.project([_ended(a, date(2026, 2, 12))])
    assert [c[0] for c in (await _credited(charger))[16:]] == _days(
        date(2026, 2, 13), date(2026, 2, 15)
    )


# ------------------------------------------------------------ (b) a declined debit's own grant


def test_decide_withholds_only_the_grant_of_the_declined_debit_s_own_period() -> None:
    from charger.domain.charges import due_charges

    v = version(setup_retail=Decimal(250), frequency_match=(10,), retail=Decimal("2.50"))
    a = assignment(start_date=date(2026, 1, 10))  # a billing date: setup and period together
    due = due_charges(a, [v], utc(2026, 1, 11)).charges
    decided = decide(due, SpendLimit(Decimal(100), "GBP"), MonthTotals(), scheduled=True)
    assert [(c.kind, outcome) for c, outcome in decided] == [
        ("setup", "decline"),
        ("recurring", "charge"),
        ("grant", "charge"),
    ]
    decided = decide(due, SpendLimit(Decimal(1), "GBP"), MonthTotals(), scheduled=True)
    assert [outcome for _, outcome in decided] == ["decline", "decline", "decline"]


async def _limited(limit: str, *packages: PackageDefined) -> FakeCharger:
    charger = FakeCharger()
    await charger.project(
        [*packages, SpendLimitSet(customer_id="acme", monthly_limit=limit, currency="USD")]
    )
    return charger


async def test_a_declined_setup_leaves_the_first_period_s_minutes_granted() -> None:
    minutes = _package(
        "uk-100", kind="free_minutes", retail="5.00", setup_retail="250.00", free_minutes=100,
        frequency="monthly", frequency_match=[1], proration="none",
    )  # fmt: skip
    charger = await _limited("100.00", minutes)
    a = _assigned(minutes, date(2026, 1, 1))
    await charger.project([a])
    await charger.tick(datetime(2026, 2, 1, 1, tzinfo=UTC))
    assert [(d["kind"], d["period_start"]) for d in await charger.events("ChargeDeclined")] == [
        ("setup", "2026-01-01")
    ]
    debits = [(d["kind"], d["period_start"]) for d in await charger.events("CreditDebited")]
    assert debits == [("recurring", "2026-01-01"), ("recurring", "2026-02-01")]
    grants = [g["valid_from"][:10] for g in await charger.events("FreeMinutesGranted")]
    assert grants == ["2026-01-01", "2026-02-01"]
    run = RunPackage(
        request_id=uuid.uuid4(), customer_id="acme", date=date(2026, 2, 28), simulate=True
    )
    await charger.run(run)
    [report] = await charger.events("PackageRunReported")
    lines = {(line["kind"], line["period_start"]): line["status"] for line in report["lines"]}
    assert lines == {
        ("setup", "2026-01-01"): "declined",
        ("recurring", "2026-01-01"): "already_charged",
        ("grant", "2026-01-01"): "already_charged",
        ("recurring", "2026-02-01"): "already_charged",
        ("grant", "2026-02-01"): "already_charged",
        ("recurring", "2026-03-01"): "would_charge",
        ("grant", "2026-03-01"): "would_charge",
    }


async def test_a_prorated_start_part_keeps_its_minutes_when_only_the_setup_is_declined() -> None:
    minutes = _package(
        "pbx-min", kind="free_minutes", retail="30.00", setup_retail="250.00", free_minutes=300,
        frequency="monthly", frequency_match=[1],
    )  # fmt: skip
    charger = await _limited("25.00", minutes)  # April's 21 days (21.00) fit, May's 30.00 not
    a = _assigned(minutes, date(2026, 4, 10))
    await charger.project([a])
    run = RunPackage(
        request_id=uuid.uuid4(), customer_id="acme", date=date(2026, 5, 1), simulate=False
    )
    await charger.run(run)
    [report] = await charger.events("PackageRunReported")
    assert [(line["kind"], line["period_start"], line["status"]) for line in report["lines"]] == [
        ("setup", "2026-04-10", "declined"),
        ("recurring", "2026-04-10", "charged"),
        ("grant", "2026-04-10", "charged"),
        ("recurring", "2026-05-01", "declined"),
        ("grant", "2026-05-01", "declined"),
    ]
    assert [g["minutes"] for g in await charger.events("FreeMinutesGranted")] == [300 * 21 // 30]


async def test_a_declined_minimum_spend_withholds_no_other_period_s_minutes() -> None:
    floor = _package(
        "floor", kind="minimum_spend", retail="90.00", frequency="monthly", frequency_match=[1],
        proration="none",
    )  # fmt: skip
    minutes = _package(
        "uk-100", kind="free_minutes", retail="5.00", setup_retail="80.00", free_minutes=100,
        frequency="monthly", frequency_match=[1], proration="none",
    )  # fmt: skip
    charger = await _limited("90.00", floor, minutes)
    spend = _assigned(floor, date(2026, 1, 1))
    grants = _assigned(minutes, date(2026, 2, 1))
    await charger.project([spend, grants])
    await charger.tick(datetime(2026, 2, 1, 1, tzinfo=UTC))
    declined = {(d["kind"], d["period_start"]) for d in await charger.events("ChargeDeclined")}
    # January's minimum spend is charged on 02-01 in January's month; February: the setup
    # (80.00) fits, its period's 5.00 too (85.00), the January floor counts in January.
    assert declined == set()
    await charger.project(
        [SpendLimitSet(customer_id="acme", monthly_limit="10.00", currency="USD")]
    )
    await charger.tick(datetime(2026, 3, 1, 1, tzinfo=UTC))
    declined = {(d["kind"], d["period_start"]) for d in await charger.events("ChargeDeclined")}
    assert declined == {("minimum_spend", "2026-02-01")}
    # March's own debit (5.00) fits under 10.00: its minutes are granted, though the minimum
    # spend of February (read at the same tick, another assignment) was declined.
    starts = [g["valid_from"][:10] for g in await charger.events("FreeMinutesGranted")]
    assert starts == ["2026-02-01", "2026-03-01"]


# ------------------------------------------------------------ RunPackage lines of charges made


async def test_a_run_shows_a_period_charged_before_its_end_moved_as_it_was_charged() -> None:
    """May debited whole, then the end set to 05-19 (May credited 12 days): a run's line for
    May is the charge as made ([05-01, 06-01), 60.00), not May as it would be cut now; the
    grant likewise keeps its minutes."""
    pbx = _package(
        "pbx", kind="free_minutes", retail="30.00", free_minutes=31, frequency="monthly",
        frequency_match=[1],
    )  # fmt: skip
    charger = FakeCharger()
    a = _assigned(pbx, date(2026, 5, 1), quantity=2)
    await charger.project([pbx, a])
    await charger.tick(datetime(2026, 5, 2, tzinfo=UTC))
    await charger.project([_ended(a, date(2026, 5, 19))])
    assert [(c[0], c[2]) for c in await _credited(charger)] == [("2026-05-01", 12)]
    run = RunPackage(
        request_id=uuid.uuid4(), customer_id="acme", date=date(2026, 5, 20), simulate=True
    )
    await charger.run(run)
    [report] = await charger.events("PackageRunReported")
    assert [
        (line["kind"], line["period_end"], line["amount"], line["minutes"], line["status"])
        for line in report["lines"]
    ] == [
        ("recurring", "2026-06-01", "60.00", None, "already_charged"),
        ("grant", "2026-06-01", None, 62, "already_charged"),
    ]
