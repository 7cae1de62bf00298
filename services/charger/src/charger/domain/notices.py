"""Notices of recurring debits before they fall due (docs/contract.md §4 ChargeUpcoming). Pure.

A period's notice moment is midnight (assignment timezone) of `period_start - notice_days`.
The first tick at or after that moment and before the period is due sends the notice, when
the debit would be made as things stand; a tick that passes both moments sends none. How far
the notices have been considered is kept per assignment (`noticed_through`), so each period
is looked at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from charger.domain.charges import next_due
from charger.domain.model import Assignment, PackageVersion, Tracked, version_on
from charger.domain.proration import prorated, prorates, start_part, with_parts
from charger.domain.schedule import Period, day_start, first_period, last_date_started_by, periods
from pkgcontract import money


@dataclass(frozen=True)
class Notice:
    assignment: Assignment
    version: PackageVersion
    period: Period
    amount: Decimal
    due_at: datetime

    @property
    def key(self) -> str:
        return f"upcoming:{self.assignment.assignment_id}:{self.period.start.isoformat()}"


@dataclass(frozen=True)
class Notices:
    notices: list[Notice]
    through: date | None  # start of the last period considered (None: none yet)


def notices_on(versions: list[PackageVersion], default_days: int) -> bool:
    """Whether any version of a package gets notices (its own notice_days, or the default)."""
    if default_days > 0:
        return any(v.notice_days != 0 for v in versions)
    return any(v.notice_days for v in versions)


def notice_days(version: PackageVersion, default: int) -> int:
    return default if version.notice_days is None else version.notice_days


def notice_moment(period_start: date, days: int, timezone: str) -> datetime:
    return day_start(period_start - timedelta(days=days), timezone)


def upcoming(
    assignment: Assignment,
    versions: list[PackageVersion],
    at: datetime,
    noticed_through: date | None,
    default_days: int,
) -> Notices:
    """The notices a tick at `at` sends for `assignment`: periods after `noticed_through`
    that are not yet due and whose notice moment is at or before `at`."""
    none = Notices([], noticed_through)
    if not versions or versions[0].kind == "minimum_spend":
        return none  # in arrears, an amount not known ahead: no notice (docs/contract.md §4)
    widest = max(notice_days(v, default_days) for v in versions)
    if widest == 0:
        return none
    tz, first = assignment.timezone, versions[0]
    last_started = last_date_started_by(at, tz)
    lo = max(assignment.start_date, last_started + timedelta(days=1))
    if noticed_through is not None:
        lo = max(lo, noticed_through + timedelta(days=1))
    hi = last_started + timedelta(days=widest)
    if assignment.end_date is not None:
        hi = min(hi, assignment.end_date)
    out: list[Notice] = []
    through = noticed_through
    stretch: Iterable[Period] = periods(first.frequency, first.frequency_match, lo, hi)
    if prorates(versions):
        stretch = with_parts(assignment, versions, stretch, lo)
    for period in stretch:
        version = version_on(versions, period.start)
        days = 0 if version is None else notice_days(version, default_days)
        if version is not None and days > 0:
            moment = notice_moment(period.start, days, tz)
            if moment > at:
                break
            terms = assignment.terms_on(period.start)
            amount = money.times(version.retail, terms.quantity)
            if period.charged_days is not None and period.period_days is not None:
                amount = prorated(amount, period.charged_days, period.period_days)
            if terms.auto_decrement_credit and amount > 0 and version.kind != "minimum_spend":
                out.append(Notice(assignment, version, period, amount, day_start(period.start, tz)))
        through = period.start
    return Notices(out, through)


def next_notice(
    assignment: Assignment,
    versions: list[PackageVersion],
    after: date | None,
    default_days: int,
) -> datetime | None:
    """The notice moment of the first period starting after `after` (None: from the start),
    or None when it gets no notice."""
    if not versions or versions[0].kind == "minimum_spend":
        return None
    if after is None:
        after = assignment.start_date - timedelta(days=1)
    first = versions[0]
    following = first_period(
        first.frequency, first.frequency_match, after + timedelta(days=1), assignment.end_date
    )
    if after < assignment.start_date and prorates(versions):
        following = start_part(assignment, versions) or following
    if following is None:
        return None
    version = version_on(versions, following.start)
    days = 0 if version is None else notice_days(version, default_days)
    return notice_moment(following.start, days, assignment.timezone) if days > 0 else None


def wake_at(
    assignment: Assignment,
    versions: list[PackageVersion],
    through: date | None,
    setup_done: bool,
    noticed_through: date | None,
    default_days: int,
    noticing: bool | None = None,
) -> datetime | None:
    """When a tick must next look at an assignment: its next charge or its next notice.
    `noticing`: whether the package gets notices at all (`noticing(versions, default_days)`),
    when the caller knows it already."""
    due = next_due(assignment, versions, through, setup_done)
    if noticing is None:
        noticing = notices_on(versions, default_days)
    if not noticing:
        return due
    after = max((d for d in (through, noticed_through) if d is not None), default=None)
    notice = next_notice(assignment, versions, after, default_days)
    return due if notice is None or (due is not None and due <= notice) else notice


def due_moment(t: Tracked, versions: list[PackageVersion], default_days: int) -> datetime | None:
    """When the workers must next look at a tracked assignment: never while it is held or
    released (a release waits for the next tick), else its next charge or notice."""
    if t.hold is not None:
        return None
    return wake_at(
        t.assignment, versions, t.ticked_through, t.setup_done, t.noticed_through, default_days
    )
