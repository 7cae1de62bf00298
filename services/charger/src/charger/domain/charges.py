"""Which charges are due (docs/contract.md §5): `due_charges` lists, for one assignment, every
charge due by `horizon` from a starting period on; what becomes of each is
charger.domain.decisions. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from charger.domain.model import (
    Assignment,
    PackageVersion,
    version_on,
)
from charger.domain.proration import (
    prorated,
    prorated_minutes,
    prorates,
    start_part,
    with_parts,
)
from charger.domain.schedule import (
    Period,
    day_start,
    first_period,
    last_date_started_by,
    period_list,
    periods,
)
from pkgcontract import money

ChargeKind = Literal["recurring", "setup", "minimum_spend", "grant"]


@dataclass(frozen=True)
class Charge:
    """One charge: a debit (recurring, setup, minimum_spend) or a grant of free minutes.

    For minimum_spend, `amount` is the commitment (retail x quantity) until `net_of_spend` subtracts
    the period's spend."""

    key: str  # the ledger key: debit:<id>:<period_start|setup> or grant:<id>:<period_start>
    kind: ChargeKind
    assignment: Assignment
    version: PackageVersion
    period: Period
    amount: Decimal | None
    cost: Decimal | None
    minutes: int | None
    auto_decrement_credit: bool
    valid_from: datetime
    valid_until: datetime

    @property
    def is_debit(self) -> bool:
        return self.kind != "grant"

    @property
    def period_key(self) -> str:
        return "setup" if self.kind == "setup" else self.period.start.isoformat()

    @property
    def order(self) -> tuple[date, str, int]:
        # Within a period the debit goes before the grant, so a declined debit is known first.
        return (
            self.period.start,
            str(self.assignment.assignment_id),
            1 if not self.is_debit else 0,
        )


def debit_key(assignment: Assignment, period_key: str) -> str:
    return f"debit:{assignment.assignment_id}:{period_key}"


def grant_key(assignment: Assignment, period_start: date) -> str:
    return f"grant:{assignment.assignment_id}:{period_start.isoformat()}"


def _times(quantity: int, amount: Decimal | None) -> Decimal | None:
    return None if amount is None else money.times(amount, quantity)


def _part(amount: Decimal, period: Period) -> Decimal:
    assert period.charged_days is not None and period.period_days is not None
    return prorated(amount, period.charged_days, period.period_days)


@dataclass(frozen=True)
class Due:
    charges: list[Charge]
    through: date | None  # start of the last period examined (None: none)
    setup_examined: bool
    complete: bool = True  # False: `max_periods` stopped it before everything due was examined


CACHED_SPAN_DAYS = 1000
"""Stretches of periods up to this long are cached (`period_list`); a longer one (a catch-up of
years) is generated lazily, so it never stays in memory."""


def due_charges(
    assignment: Assignment,
    versions: list[PackageVersion],
    horizon: datetime,
    from_period: date | None = None,
    include_setup: bool = True,
    *,
    until: date | None = None,
    max_periods: int | None = None,
    scheduled: bool = False,
) -> Due:
    """Every charge of `assignment` due at `horizon`, for periods starting on or after
    `from_period` (default: the start date) and, given `until`, not after it, in period order;
    `through` tells how far the periods were examined, so that a caller can go on from there
    next time. At most `max_periods` periods are examined (`complete` False when more were
    due). `scheduled` (ticks) leaves out the debits that auto_decrement_credit = false skips."""
    if not versions:
        return Due([], None, False)
    tz = assignment.timezone
    first = versions[0]
    out: list[Charge] = []
    start = assignment.start_date
    setup_examined = (
        include_setup and day_start(start, tz) <= horizon and (until is None or start <= until)
    )
    if setup_examined:
        version = version_on(versions, start)
        terms = assignment.terms_on(start)
        if version is not None and version.setup_retail and version.setup_retail > 0:
            instant = day_start(start, tz)
            out.append(
                Charge(
                    key=debit_key(assignment, "setup"),
                    kind="setup",
                    assignment=assignment,
                    version=version,
                    period=Period(start, start),
                    amount=money.times(version.setup_retail, terms.quantity),
                    cost=_times(terms.quantity, version.setup_cost),
                    minutes=None,
                    auto_decrement_credit=terms.auto_decrement_credit,
                    valid_from=instant,
                    valid_until=instant,
                )
            )
    last_started = last_date_started_by(horizon, tz)
    lo = max(start, from_period) if from_period else start
    hi = last_started if assignment.end_date is None else min(last_started, assignment.end_date)
    if until is not None:
        hi = min(hi, until)
    through: date | None = None
    if hi < lo:
        return Due(out, through, setup_examined)
    stretch: Iterable[Period] = (
        period_list(first.frequency, first.frequency_match, lo, hi)
        if (hi - lo).days <= CACHED_SPAN_DAYS
        else periods(first.frequency, first.frequency_match, lo, hi)
    )
    if prorates(versions):
        stretch = with_parts(assignment, versions, stretch, lo)
    examined = 0
    for period in stretch:
        begins, ends = day_start(period.start, tz), day_start(period.end, tz)
        if first.kind == "minimum_spend" and ends > horizon:
            break  # in arrears: this period and the later ones have not ended
        if max_periods is not None and examined == max_periods:
            return Due(out, through, setup_examined, complete=False)
        examined += 1
        through = period.start
        version = version_on(versions, period.start)
        if version is None:
            continue  # no version in force yet: nothing to charge with
        terms = assignment.terms_on(period.start)
        if scheduled and not terms.auto_decrement_credit and version.kind != "free_minutes":
            continue  # the ticks skip this debit, and there is nothing else in the period
        common = {
            "assignment": assignment,
            "version": version,
            "period": period,
            "auto_decrement_credit": terms.auto_decrement_credit,
            "valid_from": begins,
            "valid_until": ends,
        }
        if version.kind == "minimum_spend":
            out.append(
                Charge(
                    key=debit_key(assignment, period.start.isoformat()),
                    kind="minimum_spend",
                    amount=money.times(version.retail, terms.quantity),
                    cost=_times(terms.quantity, version.cost),
                    minutes=None,
                    **common,  # type: ignore[arg-type]
                )
            )
            continue
        skipped = scheduled and not terms.auto_decrement_credit
        part = period.charged_days is not None
        if (version.kind == "recurring" or version.retail > 0) and not skipped:
            amount = money.times(version.retail, terms.quantity)
            cost = _times(terms.quantity, version.cost)
            if part:
                amount = _part(amount, period)
                cost = None if cost is None else _part(cost, period)
            out.append(
                Charge(
                    key=debit_key(assignment, period.start.isoformat()),
                    kind="recurring",
                    amount=amount,
                    cost=cost,
                    minutes=None,
                    **common,  # type: ignore[arg-type]
                )
            )
        if version.kind == "free_minutes":
            per_unit = terms.free_minutes or version.free_minutes or 0
            minutes = per_unit * terms.quantity
            if part:
                assert period.charged_days is not None and period.period_days is not None
                minutes = prorated_minutes(minutes, period.charged_days, period.period_days)
            if minutes > 0:
                out.append(
                    Charge(
                        key=grant_key(assignment, period.start),
                        kind="grant",
                        amount=None,
                        cost=None,
                        minutes=minutes,
                        **common,  # type: ignore[arg-type]
                    )
                )
    return Due(out, through, setup_examined)


def net_of_spend(charge: Charge, spend: Decimal) -> Charge:
    """A minimum-spend debit less the period's spend (never below zero)."""
    assert charge.kind == "minimum_spend" and charge.amount is not None
    return replace(charge, amount=max(money.minus(charge.amount, spend), money.ZERO))


def counted(charge: Charge) -> bool:
    """Whether a tick's charge counts toward the catch-up limit (docs/contract.md §4 ChargesHeld):
    every debit and grant due and not yet made, except the debits that auto_decrement_credit =
    false skips and minimum-spend periods with nothing to charge (after `net_of_spend`)."""
    if charge.kind == "grant":
        return True
    if not charge.auto_decrement_credit:
        return False
    return not (charge.kind == "minimum_spend" and charge.amount == 0)


def next_due(
    assignment: Assignment,
    versions: list[PackageVersion],
    through: date | None,
    setup_done: bool,
) -> datetime | None:
    """When the next charge after `through` (and the setup, unless done) falls due."""
    if not versions:
        return None
    tz = assignment.timezone
    first = versions[0]
    moments: list[datetime] = []
    if not setup_done:
        version = version_on(versions, assignment.start_date)
        if version is not None and version.setup_retail and version.setup_retail > 0:
            moments.append(day_start(assignment.start_date, tz))
    lo = assignment.start_date if through is None else through + timedelta(days=1)
    upcoming = first_period(first.frequency, first.frequency_match, lo, assignment.end_date)
    if through is None and prorates(versions) and start_part(assignment, versions) is not None:
        upcoming = Period(assignment.start_date, assignment.start_date)  # the start's part
    if upcoming is not None:
        at = upcoming.end if first.kind == "minimum_spend" else upcoming.start
        moments.append(day_start(at, tz))
    return min(moments) if moments else None
