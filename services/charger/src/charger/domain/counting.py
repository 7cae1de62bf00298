"""How many charges a tick would count toward the catch-up limit (docs/contract.md §4 ChargesHeld)
over a long stretch, without listing them: the stretch is cut where a package version or the
assignment's terms change, and each piece's periods are counted from the calendar. A count of
centuries of daily periods costs a few statements, not a million charges. Pure.

Only for what the calendar alone decides (`countable`): a minimum spend needs each period's
spend, and a part-period's grant may round to nothing; those are counted charge by charge
(`charger.service_layer.planning`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from charger.domain.model import Assignment, PackageVersion, Terms, version_on
from charger.domain.proration import prorates
from charger.domain.schedule import Match, billing_dates, day_start, last_date_started_by


@dataclass(frozen=True)
class Count:
    """The charges counted, and the start of the first and of the last period holding one
    (the setup's is the start date)."""

    count: int
    first: date | None
    last: date | None


def countable(versions: list[PackageVersion]) -> bool:
    """Whether `count_due` can count this package's charges."""
    return (
        bool(versions)
        and not prorates(versions)
        and all(v.kind != "minimum_spend" for v in versions)
    )


def per_period(version: PackageVersion | None, terms: Terms) -> int:
    """The charges of one period that a tick counts: its debit unless auto_decrement_credit
    is false (or a free-minutes package is free), its grant when it grants minutes."""
    if version is None:
        return 0
    n = 0
    if terms.auto_decrement_credit and (version.kind == "recurring" or version.retail > 0):
        n += 1
    if version.kind == "free_minutes":
        n += (terms.free_minutes or version.free_minutes or 0) * terms.quantity > 0
    return n


def count_due(
    assignment: Assignment,
    versions: list[PackageVersion],
    horizon: datetime,
    from_period: date | None,
    include_setup: bool,
    until: date | None = None,
) -> Count:
    """What `charges.due_charges(..., scheduled=True)` would list from `from_period` on and
    `counted` would count, when `countable(versions)`."""
    assert countable(versions)
    tz, start = assignment.timezone, assignment.start_date
    count, first, last = 0, None, None
    if include_setup and day_start(start, tz) <= horizon and (until is None or start <= until):
        version = version_on(versions, start)
        terms = assignment.terms_on(start)
        setup = version is not None and version.setup_retail and version.setup_retail > 0
        if setup and terms.auto_decrement_credit:
            count, first, last = 1, start, start
    lo = max(start, from_period) if from_period else start
    hi = last_date_started_by(horizon, tz)
    for bound in (assignment.end_date, until):
        if bound is not None:
            hi = min(hi, bound)
    if hi < lo:
        return Count(count, first, last)
    changes = {v.effective_from for v in versions} | {t.effective_from for t in assignment.terms}
    cuts = sorted(d for d in changes if d is not None and lo < d <= hi)
    schedule = versions[0]
    for a, b in pairwise([lo, *cuts, hi + timedelta(days=1)]):
        n = per_period(version_on(versions, a), assignment.terms_on(a))
        if n == 0:
            continue
        periods, since, to = _billing_dates(schedule.frequency, schedule.frequency_match, a, b)
        if periods:
            count += n * periods
            first = since if first is None else first
            last = to
    return Count(count, first, last)


def _billing_dates(
    frequency: str, match: Match, lo: date, end: date
) -> tuple[int, date | None, date | None]:
    """How many billing dates lie in [lo, end), the first and the last."""
    if frequency == "daily":
        days = (end - lo).days
        return days, lo, end - timedelta(days=1)
    n, first, last = 0, None, None
    for d in billing_dates(frequency, match, lo, end - timedelta(days=1)):
        n += 1
        first = d if first is None else first
        last = d
    return n, first, last
