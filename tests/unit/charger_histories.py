"""Random histories for the charger: packages of every frequency (proration none or daily, every
kind), assignments (some read late), ticks, end dates set, moved earlier and later, removed, on
assignments running or finished, spend limits, RunPackage real and simulated; in three mixes.
tests/unit/charger_history_play.py plays them on a charger and on the contract's reference."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from charger.domain.catch_up import Policy
from pkgcontract.messages import PackageAssigned, PackageDefined

POLICY = Policy(catch_up_limit=1_000_000)
"""Out of reach: the histories are about credits and declines, not holds."""

CUSTOMERS = ("acme", "zeta")
ZONES = ("UTC", "America/New_York", "Pacific/Auckland")  # no clock change at midnight


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
