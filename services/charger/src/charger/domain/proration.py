"""Charging by the day at the ends of an assignment, and money back when it ends early
(CONTRACT.md §7). Pure.

A package version whose `proration` is "daily" (any frequency but daily) charges, besides its
whole periods:
- the part-period [start_date, b1) when the assignment starts between billing dates b0 and b1
  (cut at end_date + 1 when it ends before b1), due at the start of start_date;
- the period in which a known end date falls, for [period_start, end_date + 1) only;
each for `retail x quantity x charged_days / period_days`, half-even to 6 places, its grant
for the floor of the minutes likewise. An end date set or moved into (or before) a period
already debited credits the days the debit no longer covers, once per period.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from charger.domain.model import Assignment, PackageVersion, version_on
from charger.domain.schedule import Period, enclosing_period, next_billing_date
from pkgcontract import money

prorated = money.prorate
"""`amount x days / of_days`, exactly, rounded half-even to 6 places (pkgcontract.money)."""


def prorated_minutes(minutes: int, days: int, of_days: int) -> int:
    """floor(minutes x days / of_days), in integers."""
    return minutes * days // of_days


def prorates(versions: list[PackageVersion]) -> bool:
    """Whether any version of the package charges part-periods."""
    return any(v.prorates for v in versions)


def start_part(assignment: Assignment, versions: list[PackageVersion]) -> Period | None:
    """The part-period at the start of `assignment`, when its start date is not a billing date
    and the version in force then prorates; cut at end_date + 1."""
    start = assignment.start_date
    version = version_on(versions, start)
    if version is None or not version.prorates:
        return None
    enclosing = enclosing_period(version.frequency, version.frequency_match, start)
    if enclosing.start == start:
        return None  # a billing date: its period is a whole one
    end = enclosing.end
    if assignment.end_date is not None:
        end = min(end, assignment.end_date + timedelta(days=1))
    return Period(start, end, (end - start).days, (enclosing.end - enclosing.start).days)


def cut_at_end(period: Period, assignment: Assignment, version: PackageVersion | None) -> Period:
    """`period`, or its part up to end_date + 1 when the end date is known and falls inside it
    and its version prorates."""
    end = assignment.end_date
    if end is None or version is None or not version.prorates or period.charged_days:
        return period
    stop = end + timedelta(days=1)
    if stop >= period.end or stop <= period.start:
        return period
    return Period(period.start, stop, (stop - period.start).days, (period.end - period.start).days)


def with_parts(
    assignment: Assignment, versions: list[PackageVersion], stretch: Iterable[Period], lo: date
) -> Iterator[Period]:
    """The periods of `stretch` (whole periods starting on or after `lo`, in order) as they
    are charged: the start's part-period first when `lo` reaches back to it, the end's period
    cut."""
    part = start_part(assignment, versions) if lo <= assignment.start_date else None
    if part is not None:
        yield part
    for period in stretch:
        yield cut_at_end(period, assignment, version_on(versions, period.start))


@dataclass(frozen=True)
class Debited:
    """A debit the ledger holds, as a credit needs it."""

    key: str
    period_start: date
    period_end: date | None  # None: recorded before period ends were kept (a whole period)
    amount: Decimal
    cost: Decimal | None
    currency: str
    charged_days: int | None  # None: a whole period
    package_version: int | None  # None: recorded before versions were kept


@dataclass(frozen=True)
class Credit:
    debit: Debited
    version: PackageVersion
    period_end: date
    credited_from: date
    credited_days: int
    amount: Decimal
    cost: Decimal | None

    @property
    def key(self) -> str:
        return self.debit.key.replace("debit:", "credit:", 1)


def credits(
    assignment: Assignment, versions: list[PackageVersion], debits: list[Debited]
) -> list[Credit]:
    """What an end date (the assignment's) credits of `debits` (recurring debits made, none
    credited yet): for each one whose charging version prorates and that ends after
    end_date + 1, the days from end_date + 1 (or from its start, when all of it lies after the
    end) to its end, in proportion to the days it charged."""
    end = assignment.end_date
    if end is None:
        return []
    stop = end + timedelta(days=1)
    out = []
    for debit in debits:
        version = _version(versions, debit)
        # A daily package has no part-periods (`prorates` is false for it), but its days
        # debited after an end are credited whole like any other period (§7).
        if version is None or version.proration != "daily":
            continue
        period_end = debit.period_end or next_billing_date(
            version.frequency, version.frequency_match, debit.period_start
        )
        if period_end <= stop:
            continue
        start = max(stop, debit.period_start)
        days = (period_end - start).days
        charged = debit.charged_days or (period_end - debit.period_start).days
        out.append(
            Credit(
                debit=debit,
                version=version,
                period_end=period_end,
                credited_from=start,
                credited_days=days,
                amount=prorated(debit.amount, days, charged),
                cost=None if debit.cost is None else prorated(debit.cost, days, charged),
            )
        )
    return out


def _version(versions: list[PackageVersion], debit: Debited) -> PackageVersion | None:
    if debit.package_version is not None:
        for v in versions:
            if v.version == debit.package_version:
                return v
    return version_on(versions, debit.period_start)
