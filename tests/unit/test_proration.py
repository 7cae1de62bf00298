"""Part-periods and credits (docs/contract.md §7): the worked example, and properties over random
frequencies, frequency matches, time zones (DST), month ends and 02-29."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from charger.domain.charges import Charge, due_charges, next_due
from charger.domain.model import Assignment, Terms
from charger.domain.notices import upcoming
from charger.domain.proration import Debited, credits, prorated
from charger.domain.schedule import day_start, enclosing_period
from tests.unit.test_charges import assignment as _assignment
from tests.unit.test_charges import version


def assignment(quantity: int = 2, **over: object) -> Assignment:
    return _assignment(Terms(None, quantity, True, None), **over)


PBX = version(
    package_id="pbx-seat",
    kind="recurring",
    retail=Decimal("30.00"),
    currency="USD",
    frequency="monthly",
    frequency_match=(1,),
    free_minutes=None,
    destination_prefixes=(),
    proration="daily",
)


def _pbx(quantity: int = 2, **over: object) -> Assignment:
    return assignment(quantity, package_id="pbx-seat", start_date=date(2026, 4, 10), **over)


def _debits(charges: list[Charge]) -> list[tuple[str, str, str, int | None, int | None]]:
    return [
        (
            c.period.start.isoformat(),
            c.period.end.isoformat(),
            str(c.amount),
            c.period.charged_days,
            c.period.period_days,
        )
        for c in charges
        if c.kind != "grant"
    ]


def _made(charges: list[Charge]) -> list[Debited]:
    return [
        Debited(
            key=c.key,
            period_start=c.period.start,
            period_end=c.period.end,
            amount=c.amount or Decimal(0),
            cost=c.cost,
            currency=c.version.currency,
            charged_days=c.period.charged_days,
            package_version=c.version.version,
        )
        for c in charges
        if c.kind == "recurring"
    ]


def _after(through: date | None) -> date:
    assert through is not None
    return through + timedelta(days=1)


def test_the_worked_example() -> None:
    a = _pbx(quantity=2)
    april = due_charges(a, [PBX], datetime(2026, 4, 10, 0, 0, 1, tzinfo=UTC))
    assert _debits(april.charges) == [("2026-04-10", "2026-05-01", "42.000000", 21, 30)]
    assert next_due(a, [PBX], None, True) == datetime(2026, 4, 10, tzinfo=UTC)
    may = due_charges(a, [PBX], datetime(2026, 5, 1, 0, 0, 1, tzinfo=UTC), _after(april.through))
    assert _debits(may.charges) == [("2026-05-01", "2026-06-01", "60.00", None, None)]
    ended = dataclasses.replace(a, end_date=date(2026, 5, 19))
    [credit] = credits(ended, [PBX], _made(april.charges + may.charges))
    assert (credit.credited_from, credit.credited_days, str(credit.amount)) == (
        date(2026, 5, 20),
        12,
        "23.225806",
    )
    assert credit.key == f"credit:{a.assignment_id}:2026-05-01"
    # The end date known before the May tick: May is charged for 19 days only.
    may_cut = due_charges(
        ended, [PBX], datetime(2026, 5, 1, 0, 0, 1, tzinfo=UTC), _after(april.through)
    )
    assert _debits(may_cut.charges) == [("2026-05-01", "2026-05-20", "36.774194", 19, 31)]
    assert credits(ended, [PBX], _made(april.charges + may_cut.charges)) == []


def test_without_proration_nothing_changes() -> None:
    whole = dataclasses.replace(PBX, proration="none")
    a = _pbx(quantity=2, end_date=date(2026, 5, 19))
    due = due_charges(a, [whole], datetime(2026, 6, 1, tzinfo=UTC))
    assert _debits(due.charges) == [("2026-05-01", "2026-06-01", "60.00", None, None)]
    assert credits(a, [whole], _made(due.charges)) == []


def test_a_start_part_grants_minutes_rounded_down_and_none_when_zero() -> None:
    minutes = version(proration="daily", frequency_match=(1,), free_minutes=10)
    a = assignment(start_date=date(2026, 4, 29), quantity=1)  # 2 of April's 30 days
    due = due_charges(a, [minutes], datetime(2026, 4, 30, tzinfo=UTC))
    assert [c.kind for c in due.charges] == ["recurring"]  # floor(10 x 2 / 30) = 0: no grant
    a = assignment(start_date=date(2026, 4, 10), quantity=3)
    due = due_charges(a, [minutes], datetime(2026, 4, 11, tzinfo=UTC))
    [grant] = [c for c in due.charges if c.kind == "grant"]
    assert grant.minutes == 10 * 3 * 21 // 30
    assert (grant.valid_from, grant.valid_until) == (
        datetime(2026, 4, 10, tzinfo=UTC),
        datetime(2026, 5, 1, tzinfo=UTC),
    )


def test_a_whole_period_after_the_end_is_credited_in_full() -> None:
    a = _pbx(quantity=1)
    due = due_charges(a, [PBX], datetime(2026, 7, 1, 0, 0, 1, tzinfo=UTC))
    ended = dataclasses.replace(a, end_date=date(2026, 4, 20))
    found = {
        c.debit.period_start: (c.credited_from, c.credited_days)
        for c in credits(ended, [PBX], _made(due.charges))
    }
    assert found == {
        date(2026, 4, 10): (date(2026, 4, 21), 10),
        date(2026, 5, 1): (date(2026, 5, 1), 31),
        date(2026, 6, 1): (date(2026, 6, 1), 30),
        date(2026, 7, 1): (date(2026, 7, 1), 31),
    }


def test_a_daily_packages_days_after_the_end_are_credited_whole() -> None:
    # Found by the cluster test (scripts/cluster-test.sh): an end read after a daily
    # package's days were debited credited nothing, as `prorates` is false for daily.
    daily = dataclasses.replace(PBX, frequency="daily", frequency_match=())
    a = _pbx(quantity=1)
    due = due_charges(a, [daily], datetime(2026, 4, 14, 0, 0, 1, tzinfo=UTC))
    ended = dataclasses.replace(a, end_date=date(2026, 4, 11))
    found = {
        c.debit.period_start: (c.credited_from, c.credited_days, c.amount)
        for c in credits(ended, [daily], _made(due.charges))
    }
    assert found == {
        date(2026, 4, d): (date(2026, 4, d), 1, Decimal("30.00")) for d in (12, 13, 14)
    }
    unprorated = dataclasses.replace(daily, proration="none")
    assert credits(ended, [unprorated], _made(due.charges)) == []


def test_notices_announce_the_prorated_amount() -> None:
    noticed = dataclasses.replace(PBX, notice_days=5)
    a = _pbx(quantity=2, end_date=date(2026, 5, 19))
    found = upcoming(a, [noticed], datetime(2026, 4, 27, tzinfo=UTC), date(2026, 4, 10), 0)
    assert [(n.period.start, n.period.end, n.amount) for n in found.notices] == [
        (date(2026, 5, 1), date(2026, 5, 20), Decimal("36.774194"))
    ]


FREQUENCIES = st.one_of(
    st.tuples(st.just("weekly"), st.sets(st.integers(1, 7), min_size=1, max_size=3)),
    st.tuples(st.just("monthly"), st.sets(st.integers(1, 31), min_size=1, max_size=3)),
    st.tuples(
        st.just("yearly"),
        st.sets(st.sampled_from(["01-31", "02-28", "02-29", "06-30", "12-31"]), min_size=1),
    ),
)
ZONES = st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Sydney"])
MONEY = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=6)


@settings(max_examples=300, deadline=None)
@given(
    frequency=FREQUENCIES,
    zone=ZONES,
    retail=MONEY,
    quantity=st.integers(1, 100_000),
    free_minutes=st.integers(1, 1_000_000),
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    length=st.integers(0, 800),
    end_after=st.integers(0, 800),
)
def test_part_debit_plus_credit_is_the_full_debit_and_minutes_never_exceed_it(
    frequency: tuple[str, set[int] | set[str]],
    zone: str,
    retail: Decimal,
    quantity: int,
    free_minutes: int,
    start: date,
    length: int,
    end_after: int,
) -> None:
    name, match = frequency
    v = version(
        frequency=name,
        frequency_match=tuple(sorted(match)),  # type: ignore[arg-type]
        retail=retail,
        free_minutes=free_minutes,
        proration="daily",
    )
    a = assignment(start_date=start, quantity=quantity, timezone=zone)
    horizon = day_start(start + timedelta(days=length), zone)
    due = due_charges(a, [v], horizon)
    full = retail * quantity
    for c in due.charges:
        period = enclosing_period(name, v.frequency_match, c.period.start)
        if c.kind == "grant":
            assert c.minutes is not None and 0 < c.minutes <= free_minutes * quantity
            continue
        assert c.period.end <= period.end
        if c.period.charged_days is None:
            assert c.amount == full
        else:
            assert c.period.charged_days == (c.period.end - c.period.start).days
            assert c.period.period_days == (period.end - period.start).days
            assert 0 < c.period.charged_days < c.period.period_days
            assert c.amount == prorated(full, c.period.charged_days, c.period.period_days)
    # Ended afterwards: each debited period's part kept plus its credit is its debit, and
    # a whole period's debit split by the end date is within a millionth of the full one.
    end = start + timedelta(days=end_after)
    ended = dataclasses.replace(a, end_date=end)
    made = _made(due.charges)
    by_start = {d.period_start: d for d in made}
    for credit in credits(ended, [v], made):
        debit = by_start[credit.debit.period_start]
        assert credit.credited_days > 0 and credit.credited_from > end
        kept_days = (credit.credited_from - debit.period_start).days
        charged = debit.charged_days or (credit.period_end - debit.period_start).days
        kept = prorated(debit.amount, kept_days, charged) if kept_days else Decimal(0)
        assert abs(kept + credit.amount - debit.amount) <= Decimal("0.000001")
        assert credit.amount <= debit.amount
