"""What the charger knows about packages and assignments: plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from uuid import UUID

from pkgcontract import money


@dataclass(frozen=True)
class PackageVersion:
    package_id: str
    version: int
    effective_from: date | None
    kind: str
    retail: Decimal
    cost: Decimal | None
    setup_retail: Decimal | None
    setup_cost: Decimal | None
    currency: str
    frequency: str
    frequency_match: tuple[int, ...] | tuple[str, ...]
    free_minutes: int | None
    destination_prefixes: tuple[str, ...] = ()
    notice_days: int | None = None  # None: the charger's default (CHARGE_NOTICE_DAYS)
    proration: str = "none"  # "daily": part-periods and credits (docs/contract.md §7)
    notify_at_percent: tuple[int, ...] = ()  # carried to the grants, for the allowance
    rollover_percent: int = 0  # carried to the grants, for the allowance (docs/contract.md §6)
    rollover_days: int | None = None

    @property
    def prorates(self) -> bool:
        """Whether it charges part-periods: never a daily package (a day is never cut)."""
        return self.proration == "daily" and self.frequency != "daily"

    @property
    def credits_on_end(self) -> bool:
        """Whether an end date set or moved before the end of a period it debited credits the
        days no longer covered (docs/contract.md §7): every "daily" proration, a daily package
        too, whose days after the end are credited whole."""
        return self.proration == "daily"


@dataclass(frozen=True)
class Terms:
    """What a ChangeAssignment can change, in force from `effective_from` (None: from start)."""

    effective_from: date | None
    quantity: int
    auto_decrement_credit: bool
    free_minutes: int | None


@dataclass(frozen=True)
class Assignment:
    assignment_id: UUID
    customer_id: str
    did: str | None
    package_id: str
    start_date: date
    end_date: date | None
    timezone: str
    terms: tuple[Terms, ...]  # in the order they were made

    def terms_on(self, day: date) -> Terms:
        """The terms in force for a period starting on `day`: the last made whose
        effective_from is on or before it (the first terms are in force from the start)."""
        chosen = self.terms[0]
        for t in self.terms[1:]:
            if t.effective_from is None or t.effective_from <= day:
                chosen = t
        return chosen


@dataclass
class Tracked:
    """An assignment with the ticks' progress through it."""

    assignment: Assignment
    ticked_through: date | None
    setup_done: bool
    run_charged: bool = False  # RunPackage recorded charges of it (the ledger may be ahead)
    noticed_through: date | None = None  # last period whose notice was considered
    hold: str | None = None  # None, "held" or "released" (docs/contract.md §4 ChargesHeld)


def version_on(versions: list[PackageVersion], day: date) -> PackageVersion | None:
    """The latest version whose effective_from is null or on or before `day` (CONTRACT §5)."""
    best: PackageVersion | None = None
    for v in versions:
        if (v.effective_from is None or v.effective_from <= day) and (
            best is None or v.version > best.version
        ):
            best = v
    return best


@dataclass(frozen=True)
class SpendLimit:
    monthly_limit: Decimal | None
    currency: str


@dataclass
class MonthTotals:
    """Sum of debits already made per (currency, year, month) of period_start, for one customer."""

    totals: dict[tuple[str, int, int], Decimal] = field(default_factory=dict)

    def add(self, currency: str, day: date, amount: Decimal) -> None:
        key = (currency, day.year, day.month)
        self.totals[key] = money.plus(self.totals.get(key, money.ZERO), amount)

    def get(self, currency: str, day: date) -> Decimal:
        return self.totals.get((currency, day.year, day.month), money.ZERO)


def exceeds_spend_limit(
    limit: SpendLimit | None, month: MonthTotals, currency: str, day: date, amount: Decimal
) -> bool:
    """The spend-limit rule (docs/contract.md §5), for debits and the notices that announce them
    alike: a debit in the limit's currency that would take the debits of its period's month
    over the limit. Charges in other currencies are not limited."""
    return (
        limit is not None
        and limit.monthly_limit is not None
        and limit.currency == currency
        and money.plus(month.get(currency, day), amount) > limit.monthly_limit
    )
