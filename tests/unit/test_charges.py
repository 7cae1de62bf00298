"""Charge planning (pure): the contract's worked example and the rules of §5."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from charger.domain.charges import due_charges, net_of_spend, next_due
from charger.domain.decisions import decide
from charger.domain.model import (
    Assignment,
    MonthTotals,
    PackageVersion,
    SpendLimit,
    Terms,
    exceeds_spend_limit,
)


def version(**over: Any) -> PackageVersion:
    fields: dict[str, Any] = {
        "package_id": "uk-100",
        "version": 1,
        "effective_from": None,
        "kind": "free_minutes",
        "retail": Decimal("5.00"),
        "cost": None,
        "setup_retail": None,
        "setup_cost": None,
        "currency": "GBP",
        "frequency": "monthly",
        "frequency_match": (15,),
        "free_minutes": 100,
        "destination_prefixes": ("44",),
    }
    fields.update(over)
    return PackageVersion(**fields)


def assignment(*terms: Terms, **over: Any) -> Assignment:
    fields: dict[str, Any] = {
        "assignment_id": uuid.UUID(int=7),
        "customer_id": "c1",
        "did": None,
        "package_id": "uk-100",
        "start_date": date(2026, 1, 10),
        "end_date": None,
        "timezone": "UTC",
        "terms": terms or (Terms(None, 2, True, None),),
    }
    fields.update(over)
    return Assignment(**fields)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_contracts_worked_example() -> None:
    due = due_charges(assignment(), [version()], at(2026, 3, 20))
    debits = [c for c in due.charges if c.kind == "recurring"]
    grants = [c for c in due.charges if c.kind == "grant"]
    assert [c.period.start for c in debits] == [
        date(2026, 1, 15),
        date(2026, 2, 15),
        date(2026, 3, 15),
    ]
    assert {c.amount for c in debits} == {Decimal("10.00")}
    assert [str(c.amount) for c in debits] == ["10.00"] * 3
    assert [c.minutes for c in grants] == [200, 200, 200]
    assert grants[0].valid_from == at(2026, 1, 15) and grants[0].valid_until == at(2026, 2, 15)
    assert due.through == date(2026, 3, 15)
    assert next_due(assignment(), [version()], due.through, True) == at(2026, 4, 15)


def test_twice_monthly_15_and_31_across_february() -> None:
    v = version(kind="recurring", frequency_match=(15, 31), free_minutes=None)
    due = due_charges(assignment(start_date=date(2026, 1, 1)), [v], at(2026, 3, 16))
    assert [(c.period.start, c.period.end) for c in due.charges] == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 1, 31), date(2026, 2, 15)),
        (date(2026, 2, 15), date(2026, 2, 28)),
        (date(2026, 2, 28), date(2026, 3, 15)),
        (date(2026, 3, 15), date(2026, 3, 31)),
    ]


def test_setup_quantity_change_and_new_version_from_the_next_period() -> None:
    v1 = version(
        kind="recurring",
        setup_retail=Decimal("20"),
        free_minutes=None,
        destination_prefixes=(),
        frequency_match=(1,),
    )
    v2 = version(
        kind="recurring",
        version=2,
        retail=Decimal("7.50"),
        effective_from=date(2026, 3, 1),
        free_minutes=None,
        destination_prefixes=(),
        frequency_match=(1,),
    )
    a = assignment(
        Terms(None, 2, True, None),
        Terms(date(2026, 4, 1), 3, True, None),
        start_date=date(2026, 1, 20),
    )
    due = due_charges(a, [v1, v2], at(2026, 4, 1))
    got = [(c.kind, c.period.start, c.amount, c.version.version) for c in due.charges]
    assert got == [
        ("setup", date(2026, 1, 20), Decimal("40"), 1),
        ("recurring", date(2026, 2, 1), Decimal("10.00"), 1),
        ("recurring", date(2026, 3, 1), Decimal("15.00"), 2),
        ("recurring", date(2026, 4, 1), Decimal("22.50"), 2),
    ]


def test_minimum_spend_in_arrears_less_spend() -> None:
    v = version(
        kind="minimum_spend",
        retail=Decimal("30"),
        free_minutes=None,
        destination_prefixes=(),
        frequency_match=(1,),
    )
    a = assignment(Terms(None, 1, True, None), start_date=date(2026, 1, 1))
    due = due_charges(a, [v], at(2026, 2, 28))
    assert [c.period.start for c in due.charges] == [date(2026, 1, 1)]
    assert net_of_spend(due.charges[0], Decimal("12.50")).amount == Decimal("17.50")
    assert net_of_spend(due.charges[0], Decimal("45")).amount == Decimal("0")
    assert next_due(a, [v], due.through, True) == at(2026, 3, 1)


def test_spend_limit_declines_in_order_and_declines_the_periods_grant() -> None:
    due = due_charges(assignment(), [version()], at(2026, 3, 20)).charges
    limit = SpendLimit(Decimal("15"), "GBP")
    outcomes = [
        (c.kind, c.period.start.month, o)
        for c, o in decide(due, limit, MonthTotals(), scheduled=True)
    ]
    assert outcomes == [
        ("recurring", 1, "charge"),
        ("grant", 1, "charge"),
        ("recurring", 2, "charge"),
        ("grant", 2, "charge"),
        ("recurring", 3, "charge"),
        ("grant", 3, "charge"),
    ]
    totals = MonthTotals()
    totals.add("GBP", date(2026, 2, 1), Decimal("6"))
    outcomes = [
        (c.kind, c.period.start.month, o) for c, o in decide(due, limit, totals, scheduled=True)
    ]
    assert ("recurring", 2, "decline") in outcomes and ("grant", 2, "decline") in outcomes


def test_auto_decrement_false_skips_debits_on_ticks_only() -> None:
    a = assignment(Terms(None, 2, False, None))
    due = due_charges(a, [version()], at(2026, 1, 20)).charges
    assert [o for _, o in decide(due, None, MonthTotals(), scheduled=True)] == ["skip", "charge"]
    assert [o for _, o in decide(due, None, MonthTotals(), scheduled=False)] == ["charge", "charge"]


def test_end_date_and_timezone() -> None:
    a = assignment(end_date=date(2026, 2, 14), timezone="Asia/Tokyo")
    due = due_charges(a, [version()], at(2026, 12, 31))
    assert {c.period.start for c in due.charges} == {date(2026, 1, 15)}
    assert due.charges[0].valid_from == datetime(2026, 1, 14, 15, tzinfo=UTC)
    assert next_due(a, [version()], due.through, True) is None


def test_the_spend_limit_rule_at_its_edges() -> None:
    may = date(2026, 5, 10)
    month = MonthTotals()
    month.add("EUR", date(2026, 5, 1), Decimal("90"))
    month.add("EUR", date(2026, 4, 1), Decimal("500"))  # another month: not counted
    limit = SpendLimit(Decimal("100"), "EUR")
    assert not exceeds_spend_limit(limit, month, "EUR", may, Decimal("10"))  # reaching it is fine
    assert exceeds_spend_limit(limit, month, "EUR", may, Decimal("10.000001"))
    assert not exceeds_spend_limit(limit, month, "USD", may, Decimal("1000"))  # other currency
    assert not exceeds_spend_limit(SpendLimit(None, "EUR"), month, "EUR", may, Decimal("1000"))
    assert not exceeds_spend_limit(None, month, "EUR", may, Decimal("1000"))
    assert exceeds_spend_limit(limit, MonthTotals(), "EUR", may, Decimal("100.01"))
