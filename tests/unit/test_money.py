"""Money bounded at the edge, exact inside (docs/contract.md §2, §6, §7).

Property tests run the project's own money functions (pkgcontract.money, the charger's
proration, the allowance's credit, the run report's totals and the spend limit's month totals)
over the whole input range, money 0 to 9,999,999,999.999999 (any number of places up to 6),
quantities 1 to 100,000, days 1 to 366, call seconds 1 to 604,800, and compare each result with
exact rational arithmetic (fractions.Fraction, half-even rounding by hand); what is published
must read back as the same number and match the schemas' money pattern. The bound at the
edge: test_money_bounds.py."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from allowance.domain.model import credit as call_credit
from charger.domain.model import MonthTotals, SpendLimit, exceeds_spend_limit
from charger.domain.proration import prorated
from charger.service_layer.reports import Line, run_totals
from pkgcontract import money
from pkgcontract.messages import PackageRunReported, RunLine
from pkgcontract.messages.fields import input_money_value

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 1000
"""Examples per property (four of them; the totals' property, of lists, `SUMS`)."""
SUMS = 400

MAX_QUANTITY = 100_000


def _schema_pattern(message: str, field: str) -> re.Pattern[str]:
    schema = json.loads((ROOT / "docs" / "schemas" / f"{message}.json").read_text())
    return re.compile(schema["properties"][field]["pattern"])


PUBLISHED = _schema_pattern("CreditDebited", "amount")
"""The money pattern the committed schemas give a published amount."""
INPUT = _schema_pattern("UsageRated", "amount")


def half_even(value: Fraction, places: int = 6) -> Fraction:
    """`value` rounded half to even at `places` decimal places, by hand."""
    scaled = value * 10**places
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2):
        floor += 1
    return Fraction(floor, 10**places)


def published(amount: Decimal, expected: Fraction) -> None:
    """`amount` is `expected` exactly, and so is what the contract writes for it."""
    text = money.money_str(amount)
    assert Fraction(amount) == expected
    assert PUBLISHED.search(text), text
    assert "E" not in text.upper()
    assert Fraction(text) == expected and Decimal(text) == amount


@st.composite
def input_money(draw: Any, signed: bool = False) -> str:
    """Money as a command or a usage record may carry it: up to 10 digits before the point,
    0 to 6 places, as the sender writes it (trailing zeros kept)."""
    places = draw(st.integers(0, 6))
    units = draw(st.integers(0, 10 ** (10 + places) - 1))
    negative = signed and draw(st.booleans())
    text = money.money_str(Decimal(units).scaleb(-places))
    return f"-{text}" if negative else text


def _in(text: str) -> Decimal:
    """Through the contract's own validation of input money."""
    assert INPUT.search(text), text
    return input_money_value(text)


# ---------------------------------------------------------------- properties
@settings(max_examples=EXAMPLES)
@given(input_money(), st.integers(1, MAX_QUANTITY))
@example("9999999999.999999", MAX_QUANTITY)
@example("0", 1)
def test_a_debit_is_the_exact_product(retail: str, quantity: int) -> None:
    published(money.times(_in(retail), quantity), Fraction(retail) * quantity)


@settings(max_examples=EXAMPLES)
@given(input_money(), st.integers(1, MAX_QUANTITY), st.data())
@example("9999999999.999999", MAX_QUANTITY, None)
def test_a_part_period_is_the_product_prorated_half_even(
    retail: str, quantity: int, data: Any
) -> None:
    of_days = 366 if data is None else data.draw(st.integers(1, 366))
    days = 365 if data is None else data.draw(st.integers(1, of_days))
    amount = prorated(money.times(_in(retail), quantity), days, of_days)
    published(amount, half_even(Fraction(retail) * quantity * days / of_days))
    assert -amount.as_tuple().exponent == 6  # type: ignore[operator]


@settings(max_examples=EXAMPLES)
@given(input_money(signed=True), st.data())
@example("-9999999999.999999", None)
@example("0.000001", None)
def test_a_calls_credit_is_its_share_half_even(amount: str, data: Any) -> None:
    duration = 604_800 if data is None else data.draw(st.integers(1, 604_800))
    covered = 1 if data is None else data.draw(st.integers(0, duration))
    got = call_credit(_in(amount), covered, duration)
    expected = half_even(Fraction(amount) * covered / duration)
    assert Fraction(got) == expected
    assert PUBLISHED.search(money.money_str(got)) and Decimal(money.money_str(got)) == got


@settings(max_examples=EXAMPLES)
@given(input_money(), st.integers(1, MAX_QUANTITY), st.data())
@example("9999999999.999999", MAX_QUANTITY, None)
def test_an_early_ends_credit_is_the_debits_share_half_even(
    retail: str, quantity: int, data: Any
) -> None:
    charged = 366 if data is None else data.draw(st.integers(1, 366))
    days = 1 if data is None else data.draw(st.integers(1, charged))
    debit = prorated(money.times(_in(retail), quantity), charged, 366)
    got = prorated(debit, days, charged)
    published(got, half_even(Fraction(debit) * days / charged))


@settings(max_examples=SUMS)
@given(
    st.lists(st.tuples(input_money(), st.integers(1, MAX_QUANTITY)), min_size=1, max_size=30),
    st.lists(st.decimals(0, Decimal(10) ** 23 - 1, places=6), max_size=5),  # sum < 10**24
)
@example([("9999999999.999999", MAX_QUANTITY)] * 30, [Decimal("999999999999999999.999999")])
def test_totals_are_exact_sums_never_rounded(
    charges: list[tuple[str, int]], large: list[Decimal]
) -> None:
    amounts = [money.times(_in(r), q) for r, q in charges]
    expected = sum((Fraction(r) * q for r, q in charges), Fraction(0))
    lines = [_line(a) for a in amounts]
    totals = asyncio.run(run_totals([_report_line(a) for a in amounts]))
    published(totals["GBP"], expected)
    report = PackageRunReported(
        request_id=uuid.uuid4(),
        customer_id="c",
        date=date(2026, 1, 1),
        simulate=True,
        lines=lines,
        totals=totals,
    )
    written = json.loads(report.to_json())
    assert Fraction(written["totals"]["GBP"]) == expected
    assert [Fraction(x["amount"]) for x in written["lines"]] == [Fraction(a) for a in amounts]
    month = MonthTotals()
    for a in amounts:
        month.add("GBP", date(2026, 1, 1), a)
    assert Fraction(month.get("GBP", date(2026, 1, 1))) == expected
    # Sums of anything up to the published bound: exact too.
    big = [*amounts, *large]
    published(money.total(big), expected + sum((Fraction(x) for x in large), Fraction(0)))


def _report_line(amount: Decimal) -> Line:
    """A run's line as `run_totals` reads it: a debit in GBP that would be charged."""
    debit = cast(Any, SimpleNamespace(is_debit=True, version=SimpleNamespace(currency="GBP")))
    return Line(debit, "would_charge", amount, period_end=date(2026, 1, 2), minutes=None)


def _line(amount: Decimal) -> RunLine:
    return RunLine(
        assignment_id=uuid.uuid4(),
        package_id="p",
        kind="recurring",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 2),
        amount=amount,
        currency="GBP",
        minutes=None,
        status="would_charge",
    )


# ---------------------------------------------------------------- what the properties guard
def test_the_default_decimal_context_would_have_rounded_the_largest_product() -> None:
    """Why no service multiplies or adds money with the operators: the default 28 digits
    lose the places of the old 18-digit retail x 100,000 and the last cent of a big sum; the
    money functions keep them."""
    retail = Decimal("999999999999999999.999999")
    with localcontext() as ctx:
        ctx.prec = 28
        assert str(retail * MAX_QUANTITY) == "99999999999999999999999.90000"  # a place lost
        assert Fraction(retail * 99_999) != Fraction(retail) * 99_999  # a value lost
        assert Decimal("1E+23") + Decimal("0.000001") == Decimal("1E+23")
    assert money.money_str(money.times(retail, MAX_QUANTITY)) == "99999999999999999999999.900000"
    assert money.money_str(money.times(retail, 99_999)) == "99998999999999999999999.900001"
    assert money.plus(Decimal("1E+23"), Decimal("0.000001")) == Fraction(10**29 + 1, 10**6)


def test_a_limit_compares_the_exact_sum() -> None:
    """One millionth over the limit is over it, at any size."""
    limit = SpendLimit(Decimal("99999999999999999999.999999"), "GBP")
    month = MonthTotals()
    month.add("GBP", date(2026, 1, 5), Decimal("99999999999999999999.999998"))
    day = date(2026, 1, 20)
    assert not exceeds_spend_limit(limit, month, "GBP", day, Decimal("0.000001"))
    assert exceeds_spend_limit(limit, month, "GBP", day, Decimal("0.000002"))


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1E+3"), "1000"),
        (Decimal("0E-6"), "0.000000"),
        (Decimal("12.50"), "12.50"),
        (Decimal("1.5000000"), "1.500000"),
        (Decimal("123456789012345678901234.123456"), "123456789012345678901234.123456"),
    ],
)
def test_money_is_written_in_plain_notation(amount: Decimal, text: str) -> None:
    assert money.money_str(amount) == text


def test_shares_round_half_to_even() -> None:
    assert money.share(Decimal("0.000001"), 1, 2) == Decimal("0.000000")
    assert money.share(Decimal("0.000003"), 1, 2) == Decimal("0.000002")
    assert money.share(Decimal("-0.000003"), 1, 2) == Decimal("-0.000002")
    assert money.prorate(Decimal("60.00"), 12, 31) == Decimal("23.225806")  # §7's example
    assert money.credit(Decimal("0.60"), 0, 0) == Decimal("0.000000")
    with pytest.raises(ValueError, match="parts"):
        money.share(Decimal(1), 1, 0)
