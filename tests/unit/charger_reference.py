"""An independent reference of docs/contract.md §5 (when a package charges, the spend limit, grants
withheld with their own period's debit, RunPackage's lines) and §7 (part-periods, credits on
an early end), for the model-based tests (tests/unit/test_charger_histories.py and its
integration twin). Written from the contract, day by day, with none of the charger's code:
billing dates are tested one date at a time, a period's credited days counted one by one.

Single package versions, no usage (a minimum spend charges its whole commitment, or nothing
when that is 0 and the period is "covered"), auto_decrement_credit true, no notices, no
catch-up limit (the tests set it out of reach)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from uuid import UUID
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Package:
    package_id: str
    kind: str  # recurring, free_minutes, minimum_spend
    frequency: str
    match: tuple[int, ...] | tuple[str, ...]
    retail: Decimal
    setup_retail: Decimal | None
    proration: str
    free_minutes: int | None
    currency: str = "USD"

    @property
    def cuts_days(self) -> bool:
        """§7: part-periods, but "a daily package has no part-periods"."""
        return self.proration == "daily" and self.frequency != "daily"


def is_billing_date(p: Package, d: date) -> bool:
    """§5's table, for one date."""
    if p.frequency == "daily":
        return True
    if p.frequency == "weekly":
        return d.isoweekday() in p.match
    if p.frequency == "monthly":
        last = calendar.monthrange(d.year, d.month)[1]
        return any(min(int(m), last) == d.day for m in p.match)
    for entry in p.match:
        month, day = int(str(entry)[:2]), int(str(entry)[3:])
        if month == 2 and day == 29 and not calendar.isleap(d.year):
            day = 28
        if (d.month, d.day) == (month, day):
            return True
    return False


def next_billing(p: Package, d: date) -> date:
    d += DAY
    while not is_billing_date(p, d):
        d += DAY
    return d


def billing_on_or_before(p: Package, d: date) -> date:
    while not is_billing_date(p, d):
        d -= DAY
    return d


def six(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def share(amount: Decimal, days: int, of_days: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return six(amount * days / of_days)


def local_date(at: datetime, timezone: str) -> date:
    """The last date whose midnight (in the zone) a tick at `at` has reached (the zones the
    tests use have no clock change at midnight)."""
    return at.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class Charge:
    key: str
    kind: str  # recurring, setup, minimum_spend, grant
    start: date
    end: date
    amount: Decimal | None
    minutes: int | None
    charged_days: int | None = None
    period_days: int | None = None

    @property
    def period_key(self) -> str:
        return "setup" if self.kind == "setup" else self.start.isoformat()


@dataclass
class Row:
    """What the ledger keeps of a charge."""

    charge: Charge
    status: str  # charged, declined, covered
    reason: str


@dataclass
class Assignment:
    assignment_id: UUID
    customer_id: str
    package: Package
    quantity: int
    start: date
    end: date | None
    timezone: str
    through: date | None = None  # the last period start a tick has looked at
    setup_done: bool = False

    def period_starts(self, lo: date, hi: date) -> list[date]:
        """Starts in [lo, hi] of the periods the assignment pays for: its billing dates from
        start_date on, and start_date itself when a part-period begins there (§7)."""
        out, d = [], max(lo, self.start)
        while d <= hi:
            if is_billing_date(self.package, d) or (d == self.start and self.package.cuts_days):
                out.append(d)
            d += DAY
        return out

    def charges_of(self, s: date) -> list[Charge]:
        """The debit and the grant of the period starting on `s`, with the end date as known."""
        p, q, aid = self.package, self.quantity, self.assignment_id
        end = next_billing(p, s)
        charged = of = None
        if p.cuts_days and not is_billing_date(p, s):  # the start's part
            of = (end - billing_on_or_before(p, s)).days
            if self.end is not None:
                end = min(end, self.end + DAY)
            charged = (end - s).days
        elif p.cuts_days and self.end is not None and self.end + DAY < end:  # the end's part
            of, end = (end - s).days, self.end + DAY
            charged = (end - s).days
        amount = p.retail * q
        minutes = (p.free_minutes or 0) * q
        if charged is not None and of is not None:
            amount, minutes = share(amount, charged, of), minutes * charged // of
        out = []
        if p.kind != "free_minutes" or p.retail > 0:
            kind = "minimum_spend" if p.kind == "minimum_spend" else "recurring"
            out.append(Charge(f"debit:{aid}:{s}", kind, s, end, amount, None, charged, of))
        if p.kind == "free_minutes" and minutes > 0:
            out.append(Charge(f"grant:{aid}:{s}", "grant", s, end, None, minutes, charged, of))
        return out

    def due(self, last: date, *, from_start: bool) -> tuple[list[Charge], date | None]:
        """Every charge due once the day `last` has begun (the setup, periods started; a
        minimum spend's once ended) from the start (RunPackage) or after `through` (ticks),
        and the last period start looked at."""
        out: list[Charge] = []
        if (from_start or not self.setup_done) and self.start <= last:
            setup = self.package.setup_retail
            if setup:
                key = f"debit:{self.assignment_id}:setup"
                out.append(
                    Charge(key, "setup", self.start, self.start, setup * self.quantity, None)
                )
        lo = self.start if from_start or self.through is None else self.through + DAY
        hi = last if self.end is None else min(last, self.end)
        looked = None
        for s in self.period_starts(lo, hi):
            if self.package.kind == "minimum_spend" and next_billing(self.package, s) > last:
                break  # in arrears
            looked = s
            out += self.charges_of(s)
        return out, looked


@dataclass
class Reference:
    """What the charger must have emitted after a history: events as (key, fields) tuples."""

    assignments: dict[UUID, Assignment] = field(default_factory=dict)
    limits: dict[str, Decimal | None] = field(default_factory=dict)  # customer: USD limit
    ledger: dict[str, Row] = field(default_factory=dict)
    credited: set[str] = field(default_factory=set)
    clock: datetime | None = None
    debits: list[tuple[object, ...]] = field(default_factory=list)
    grants: list[tuple[object, ...]] = field(default_factory=list)
    declined: list[tuple[object, ...]] = field(default_factory=list)
    credits: list[tuple[object, ...]] = field(default_factory=list)
    reports: list[list[tuple[object, ...]]] = field(default_factory=list)
    crediting_moves: dict[UUID, int] = field(default_factory=dict)  # end moves that credited

    def month_total(self, customer: str, day: date) -> Decimal:
        return sum(
            (
                r.charge.amount or Decimal(0)
                for r in self.ledger.values()
                if r.status == "charged"
                and r.charge.kind != "grant"
                and self._owner(r.charge) == customer
                and (r.charge.start.year, r.charge.start.month) == (day.year, day.month)
            ),
            Decimal(0),
        )

    def _owner(self, c: Charge) -> str:
        return self.assignments[UUID(c.key.split(":")[1])].customer_id

    def decide(self, customer: str, charges: list[Charge]) -> list[tuple[Charge, str]]:
        """§5: in order of period_start, then assignment (a setup before its first period,
        a debit before its grant); over the limit: declined, and so the grant of that very
        period (a setup's period is its own)."""
        order = {"setup": 0, "recurring": 1, "minimum_spend": 1, "grant": 2}
        ranked = sorted(charges, key=lambda c: (c.start, c.key.split(":")[1], order[c.kind]))
        declined: set[tuple[str, str]] = set()
        out = []
        limit = self.limits.get(customer)
        for c in ranked:
            period = (c.key.split(":")[1], c.period_key)
            if c.kind == "grant":
                out.append((c, "declined" if period in declined else "charged"))
            elif c.kind == "minimum_spend" and c.amount == 0:
                out.append((c, "covered"))
            elif (
                limit is not None and self.month_total(customer, c.start) + (c.amount or 0) > limit
            ):
                declined.add(period)
                out.append((c, "declined"))
            else:
                out.append((c, "charged"))
                self.ledger[c.key] = Row(c, "charged", "")  # counts at once for the next
        return out

    def record(self, decided: list[tuple[Charge, str]], reason: str) -> None:
        for c, status in decided:
            self.ledger[c.key] = Row(c, status, reason)
            if status == "charged" and c.kind == "grant":
                self.grants.append((c.key, c.minutes, c.start, c.end))
            elif status == "charged":
                self.debits.append(
                    (c.key, c.kind, c.amount, c.start, c.end, c.charged_days, c.period_days, reason)
                )
            elif status == "declined" and c.kind != "grant":
                self.declined.append((c.key.replace("debit:", "declined:", 1), c.kind, c.amount))

    def charge_all(self) -> None:
        """A tick (or a change read after it): every charge due and not yet made."""
        if self.clock is None:
            return
        by_customer: dict[str, list[Charge]] = {}
        for a in self.assignments.values():
            found, looked = a.due(local_date(self.clock, a.timezone), from_start=False)
            a.setup_done = a.setup_done or a.start <= local_date(self.clock, a.timezone)
            a.through = looked or a.through
            new = [c for c in found if c.key not in self.ledger]
            by_customer.setdefault(a.customer_id, []).extend(new)
        for customer, charges in by_customer.items():
            self.record(self.decide(customer, charges), "scheduled")

    def end(self, assignment_id: UUID, end: date | None) -> None:
        """An end date set or moved (§7): each debited period not credited yet, of a package
        whose proration is "daily", gives back the days after the end, counted one by one."""
        a = self.assignments[assignment_id]
        a.end = end
        before = len(self.credits)
        if end is not None and a.package.proration == "daily":
            for key, row in list(self.ledger.items()):
                c = row.charge
                if (
                    key in self.credited
                    or row.status != "charged"
                    or c.kind != "recurring"
                    or not key.startswith(f"debit:{assignment_id}:")
                ):
                    continue
                days = [c.start + DAY * i for i in range((c.end - c.start).days)]
                after = [d for d in days if d > end]
                if after:
                    self.credited.add(key)
                    amount = share(c.amount or Decimal(0), len(after), len(days))
                    credit_key = key.replace("debit:", "credit:", 1)
                    self.credits.append((credit_key, amount, len(after), after[0], c.start, c.end))
        if len(self.credits) > before:
            self.crediting_moves[assignment_id] = self.crediting_moves.get(assignment_id, 0) + 1
        self.charge_all()

    def run(self, customer: str, day: date, simulate: bool) -> None:
        """RunPackage: as a tick at the next midnight would; made or not, each one a line."""
        lines: list[tuple[object, ...]] = []
        new: list[Charge] = []
        for a in self.assignments.values():
            if a.customer_id != customer:
                continue
            found, _ = a.due(day + DAY, from_start=True)
            for c in found:
                row = self.ledger.get(c.key)
                if row is None:
                    new.append(c)
                    continue
                # Shown as it was made, whatever the end date has become since.
                made = row.charge
                status = "declined" if row.status == "declined" else "already_charged"
                line = (made.kind, made.start, made.end, made.amount, made.minutes, status)
                lines.append((str(a.assignment_id), *line))
        saved = dict(self.ledger)
        decided = self.decide(customer, new)
        self.ledger = saved
        done = "would_charge" if simulate else "charged"
        for c, status in decided:
            shown = "declined" if status == "declined" else done
            aid = c.key.split(":")[1]
            lines.append((aid, c.kind, c.start, c.end, c.amount, c.minutes, shown))
        if not simulate:
            self.record(decided, "run_package")
        self.reports.append(sorted(lines, key=repr))
