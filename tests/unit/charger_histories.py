"""Random histories for the charger (packages of every frequency, proration none or daily, of
every kind; assignments, some read late; ticks; end dates set, moved earlier and later, removed,
on assignments running or finished; spend limits; RunPackage real and simulated), played on a
charger (`Backend`: the in-memory fakes here, PostgreSQL in the integration tier) and on the
contract's reference (tests/unit/charger_reference.py), and the two compared: every
CreditDebited, FreeMinutesGranted, ChargeDeclined, CreditIssued and RunPackage line, and no
other."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from hypothesis import strategies as st

from charger.domain.catch_up import Policy
from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    Message,
    PackageAssigned,
    PackageDefined,
    RunPackage,
    SpendLimitSet,
    natural_event_id,
)
from tests.unit import charger_reference as ref

POLICY = Policy(catch_up_limit=1_000_000)
"""Out of reach: the histories are about credits and declines, not holds."""

CUSTOMERS = ("acme", "zeta")
ZONES = ("UTC", "America/New_York", "Pacific/Auckland")  # no clock change at midnight


class Backend(Protocol):
    """A charger driven the way its entrypoints drive it."""

    async def project(self, events: list[Message]) -> None:
        """Read input events, then charge what they made due as of the latest tick."""

    async def tick(self, at: datetime) -> None:
        """A tick accepted and everything it made due charged."""

    async def run(self, cmd: RunPackage) -> None: ...

    async def events(self, event_type: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class History:
    packages: tuple[PackageDefined, ...]
    assignments: tuple[PackageAssigned, ...]
    late: frozenset[int]  # assignments read only at their "assign" step
    steps: tuple[tuple[Any, ...], ...]
    limits: tuple[tuple[str, str | None], ...] = ()  # spend limits read before anything else

    def __repr__(self) -> str:  # short enough to read in a failure
        def assignment(a: PackageAssigned) -> str:
            return (
                f"{a.customer_id}/{a.package_id} x{a.quantity} {a.start_date}..{a.end_date} "
                f"{a.timezone} ({a.assignment_id})"
            )

        packages = [
            f"{d.package_id} match={d.frequency_match} retail={d.retail} "
            f"setup={d.setup_retail} proration={d.proration} minutes={d.free_minutes}"
            for d in self.packages
        ]
        return "\n".join(
            [
                "History:",
                *packages,
                *map(assignment, self.assignments),
                f"late={sorted(self.late)} limits={self.limits}",
                *map(repr, self.steps),
            ]
        )


def reference_package(d: PackageDefined) -> ref.Package:
    return ref.Package(
        package_id=d.package_id,
        kind=d.kind,
        frequency=d.frequency,
        match=tuple(d.frequency_match),  # type: ignore[arg-type]
        retail=Decimal(d.retail),
        setup_retail=None if d.setup_retail is None else Decimal(d.setup_retail),
        proration=d.proration,
        free_minutes=d.free_minutes,
    )


FREQUENCIES = st.one_of(
    st.tuples(st.just("daily"), st.just(())),
    st.tuples(st.just("weekly"), st.sets(st.integers(1, 7), min_size=1, max_size=2)),
    st.tuples(st.just("monthly"), st.sets(st.integers(1, 31), min_size=1, max_size=2)),
    st.tuples(
        st.just("yearly"),
        st.sets(st.sampled_from(["01-31", "02-29", "03-15", "06-30", "12-31"]), min_size=1),
    ),
)
PRICES = ("30.00", "2.50", "7.333333", "0.01", "100")
LIMITS = st.sampled_from([None, None, "0", "5.00", "40.00", "100.00", "1000.00"])


@dataclass(frozen=True)
class Mix:
    """What a kind of history is made of (each tuple drawn from evenly: repeats weigh)."""

    kinds: tuple[str, ...]
    prorations: tuple[str, ...]
    setups: tuple[str | None, ...]
    steps: tuple[str, ...]
    limits_first: int  # in how many of 3 histories a customer has a limit from the start


EVERYTHING = Mix(
    kinds=("recurring", "recurring", "free_minutes", "free_minutes", "minimum_spend"),
    prorations=("none", "daily", "daily"),
    setups=(None, None, "0", "5.00", "250.00"),
    steps=("tick", "tick", "tick", "end", "end", "end", "change", "change", "limit", "run"),
    limits_first=1,
)
CREDITS = Mix(
    kinds=("recurring", "free_minutes"),
    prorations=("none", "daily", "daily", "daily"),
    setups=(None,),
    steps=("tick", "tick", "end", "end", "change"),
    limits_first=0,
)
"""End dates moved back and forth, again and again, on running and finished assignments."""
DECLINES = Mix(
    kinds=("free_minutes", "free_minutes", "recurring", "minimum_spend"),
    prorations=("none", "daily"),
    setups=(None, "5.00", "250.00"),
    steps=("tick", "tick", "limit", "run", "end"),
    limits_first=3,
)
"""Spend limits declining setups, periods and minimum spends, and the grants that follow."""


@st.composite
def packages(draw: st.DrawFn, n: int, mix: Mix = EVERYTHING) -> PackageDefined:
    kind = draw(st.sampled_from(mix.kinds))
    frequency, match = draw(FREQUENCIES)
    prices = PRICES if kind == "recurring" else (*PRICES, "0")
    return PackageDefined(
        package_id=f"p{n}-{kind}-{frequency}",
        version=1,
        name=f"package {n}",
        kind=kind,
        retail=draw(st.sampled_from(prices)),
        setup_retail=draw(st.sampled_from(mix.setups)),
        currency="USD",
        frequency=frequency,
        frequency_match=sorted(match),
        free_minutes=draw(st.sampled_from([1, 10, 3000])) if kind == "free_minutes" else None,
        proration="none" if kind == "minimum_spend" else draw(st.sampled_from(mix.prorations)),
        effective_from=None,
    )


@st.composite
def histories(draw: st.DrawFn, mix: Mix = EVERYTHING, max_steps: int = 14) -> History:
    base = draw(st.sampled_from([date(2026, 1, 1), date(2027, 12, 20)]))  # 2028-02-29 ahead
    defined = [draw(packages(n, mix)) for n in range(draw(st.integers(1, 3)))]
    assigned = []
    for _ in range(draw(st.integers(1, 3))):
        start = base + timedelta(days=draw(st.integers(0, 60)))
        ends = draw(st.one_of(st.none(), st.integers(0, 200)))
        assigned.append(
            PackageAssigned(
                assignment_id=uuid.uuid4(),
                customer_id=draw(st.sampled_from(CUSTOMERS)),
                package_id=draw(st.sampled_from(defined)).package_id,
                package_version=1,
                quantity=draw(st.integers(1, 3)),
                start_date=start,
                end_date=None if ends is None else start + timedelta(days=ends),
                auto_decrement_credit=True,
                timezone=draw(st.sampled_from(ZONES)),
            )
        )
    late = frozenset(draw(st.sets(st.integers(0, len(assigned) - 1))))
    limits = tuple(
        (customer, draw(LIMITS))
        for customer in CUSTOMERS
        if draw(st.integers(0, 2)) < mix.limits_first
    )
    steps: list[tuple[Any, ...]] = []
    clock = datetime.combine(base, datetime.min.time(), UTC)
    for n in range(draw(st.integers(1, max_steps))):
        # Mostly a tick first: ends moved afterwards have debits to credit.
        step = "tick" if n == 0 and draw(st.integers(0, 3)) else draw(st.sampled_from(mix.steps))
        i = draw(st.integers(0, len(assigned) - 1))
        if step == "tick":
            ahead = st.integers(24 * 20, 24 * 200)  # the first one mostly past the starts
            hours = draw(ahead if n == 0 else st.one_of(st.integers(1, 72), ahead))
            clock += timedelta(hours=hours)
            steps.append(("tick", clock))
        elif step in ("end", "change"):
            start = assigned[i].start_date
            around = draw(st.sampled_from([start, clock.date(), clock.date()]))
            end = max(start, around + timedelta(days=draw(st.integers(-60, 40))))
            removed = step == "change" and draw(st.integers(0, 4)) == 0
            steps.append((step, i, None if removed else end))
        elif step == "limit":
            steps.append(("limit", draw(st.sampled_from(CUSTOMERS)), draw(LIMITS)))
        else:
            day = clock.date() + timedelta(days=draw(st.integers(-5, 20)))
            steps.append(("run", draw(st.sampled_from(CUSTOMERS)), day, draw(st.booleans())))
        if late and draw(st.integers(0, 3)) == 0:
            steps.append(("assign", draw(st.sampled_from(sorted(late)))))
    return History(tuple(defined), tuple(assigned), late, tuple(steps), limits)


async def play(h: History, charger: Backend) -> ref.Reference:
    """Play `h` on `charger` and on the reference; the reference's state at the end."""
    model = ref.Reference()
    versions = {d.package_id: reference_package(d) for d in h.packages}
    known: dict[int, PackageAssigned] = {}

    async def set_limit(customer: str, limit: str | None) -> None:
        set_limit = SpendLimitSet(customer_id=customer, monthly_limit=limit, currency="USD")
        await charger.project([set_limit])
        model.limits[customer] = None if limit is None else Decimal(limit)
        model.charge_all()

    async def assign(i: int) -> None:
        if i in known:
            return
        e = known[i] = h.assignments[i]
        model.assignments[e.assignment_id] = ref.Assignment(
            e.assignment_id,
            e.customer_id,
            versions[e.package_id],
            e.quantity,
            e.start_date,
            e.end_date,
            e.timezone,
        )
        await charger.project([e])
        model.charge_all()

    await charger.project(list(h.packages))
    for customer, limit in h.limits:
        await set_limit(customer, limit)
    for i in range(len(h.assignments)):
        if i not in h.late:
            await assign(i)
    for step in h.steps:
        name, *args = step
        if name == "tick":
            model.clock = args[0]
            await charger.tick(args[0])
            model.charge_all()
        elif name == "assign":
            await assign(args[0])
        elif name in ("end", "change"):
            i, end = args
            if i not in known:
                continue  # an end of an assignment not read yet: not sent (its order is kept)
            a = known[i]
            event: Message
            if name == "end":
                event = AssignmentEnded(
                    assignment_id=a.assignment_id,
                    customer_id=a.customer_id,
                    package_id=a.package_id,
                    end_date=end,
                )
            else:
                fields = a.model_dump(exclude={"event_type", "event_id", "end_date"})
                event = AssignmentChanged(**fields, end_date=end, effective_from=a.start_date)
            await charger.project([event])
            model.end(a.assignment_id, end)
        elif name == "limit":
            await set_limit(*args)
        else:
            customer, day, simulate = args
            cmd = RunPackage(
                request_id=uuid.uuid4(), customer_id=customer, date=day, simulate=simulate
            )
            await charger.run(cmd)
            model.run(customer, day, simulate)
    return model


def _n(value: Any) -> Any:
    """A field as the JSON carries it, comparable: money as a normalized Decimal, dates ISO."""
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_n(v) for v in row) for row in rows), key=repr)


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


async def emitted(charger: Backend) -> dict[str, list[Any]]:
    """The charger's events, as the reference states them."""
    debits = [
        (
            e["debit_id"],
            e["kind"],
            _money(e["amount"]),
            e["period_start"],
            e["period_end"],
            e["charged_days"],
            e["period_days"],
            e["reason"],
        )
        for e in await charger.events("CreditDebited")
    ]
    grants = [(e["grant_id"], e["minutes"]) for e in await charger.events("FreeMinutesGranted")]
    declined = [
        (e["event_id"], e["kind"], _money(e["amount"]))
        for e in await charger.events("ChargeDeclined")
    ]
    credits = [
        (
            e["credit_id"],
            _money(e["amount"]),
            e["credited_days"],
            e["credited_from"],
            e["period_start"],
            e["period_end"],
            e["debit_id"],
        )
        for e in await charger.events("CreditIssued")
    ]
    reports = [
        _rows(
            [
                (
                    line["assignment_id"],
                    line["kind"],
                    line["period_start"],
                    line["period_end"],
                    _money(line["amount"]),
                    line["minutes"],
                    line["status"],
                )
                for line in e["lines"]
            ]
        )
        for e in await charger.events("PackageRunReported")
    ]
    return {
        "debits": _rows(debits),
        "grants": _rows(grants),
        "declined": _rows(declined),
        "credits": _rows(credits),
        "reports": reports,
    }


def expected(model: ref.Reference) -> dict[str, list[Any]]:
    def eid(key: object) -> str:
        return str(natural_event_id(str(key)))

    credits = [
        (eid(k), amount, days, since, start, end, eid(k.replace("credit:", "debit:", 1)))
        for k, amount, days, since, start, end in model.credits  # type: ignore[misc]
    ]
    return {
        "debits": _rows([(eid(k), *rest) for k, *rest in model.debits]),
        "grants": _rows([(eid(k), minutes) for k, minutes, *_ in model.grants]),
        "declined": _rows([(eid(k), *rest) for k, *rest in model.declined]),
        "credits": _rows(credits),
        "reports": [_rows(lines) for lines in model.reports],
    }


async def check(h: History, charger: Backend) -> ref.Reference:
    """Play `h` and assert the charger emitted what the reference says, and nothing else."""
    model = await play(h, charger)
    got, want = await emitted(charger), expected(model)
    for name in want:
        assert got[name] == want[name], f"{name} differ (got vs expected) for {h}"
    return model


def features(model: ref.Reference) -> set[str]:
    """What a history exercised (for hypothesis' statistics: the runs must show these)."""
    found = set()
    for key, row in model.ledger.items():
        aid = key.split(":")[1]
        a = model.assignments[uuid.UUID(aid)]
        if row.status == "declined" and row.charge.kind != "grant":
            found.add(f"declined {row.charge.kind}")
        if row.charge.kind == "grant":
            setup = model.ledger.get(f"debit:{aid}:setup")
            if row.status == "declined":
                found.add("grant withheld with its declined debit")
            elif setup is not None and setup.status == "declined":
                found.add("grant made though the setup was declined")
        if key in model.credited:
            found.add(f"credited: {a.package.frequency}")
            if row.charge.charged_days is not None:
                found.add("credited: a part-period")
    for a in model.assignments.values():
        finished = model.clock is not None and a.end is not None
        if finished and ref.local_date(model.clock, a.timezone) > a.end:  # type: ignore[arg-type]
            found.add("ended before the clock")
    if any(moves > 1 for moves in model.crediting_moves.values()):
        found.add("credited by two moves of one end")
    for key in model.credited:
        aid, start = key.split(":")[1], key.split(":")[2]
        if any(
            k.startswith(f"debit:{aid}:")
            and k.split(":")[2] > start
            and r.status == "charged"
            and r.charge.kind == "recurring"
            and k not in model.credited
            for k, r in model.ledger.items()
        ):
            found.add("charged after a credited period (end moved later)")
    if any(status == "declined" for lines in model.reports for *_, status in lines):
        found.add("report: declined lines")
    return found
