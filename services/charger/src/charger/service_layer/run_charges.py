"""What RunPackage considers (docs/contract.md §4): every charge of a customer due by the end
of a date, made or not, a chunk of periods at a time; for a simulated run, the assignments a
tick would hold over the catch-up limit, counted as a tick counts them (`planning`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from charger.domain.charges import Charge, due_charges
from charger.domain.model import PackageVersion, Tracked
from charger.domain.schedule import day_start
from charger.service_layer import planning
from charger.service_layer.planning import COUNT_CHUNK_PERIODS
from charger.service_layer.ports import Ledger, UnitOfWork
from pkgshared.pacing import breathe


@dataclass(frozen=True)
class Held:
    """A simulated run's assignment over the catch-up limit: the charges due that count
    toward it, the first and the last of them."""

    count: int
    first: Charge
    last: Charge


@dataclass
class Run:
    """What RunPackage considers: the customer's assignments, the charges due by the run's
    horizon (made or not), and the assignments a simulated run reports as held."""

    tracked: list[Tracked]
    charges: list[Charge]
    held: list[Held]


async def run_charges(
    uow: UnitOfWork, customer_id: str, day: date, catch_up_limit: int | None = None
) -> Run:
    """RunPackage's charges: every charge of the customer due by the end of `day` (the next
    midnight in each assignment's zone), made or not, a chunk of periods at a time. Given
    `catch_up_limit` (a simulated run), an assignment with more charges due and not made than
    that, counted as a tick counts them, is held instead (a released one never is)."""
    tracked = await uow.ledger.assignments_of([customer_id])
    versions = await uow.projections.versions({t.assignment.package_id for t in tracked})
    run = Run(tracked, [], [])
    for t in tracked:
        a = t.assignment
        mine = versions.get(a.package_id, [])
        horizon = day_start(day + timedelta(days=1), a.timezone)
        if catch_up_limit is not None and t.hold != "released":
            held = await _over_limit(uow.ledger, t, mine, horizon, catch_up_limit)
            if held is not None:
                run.held.append(held)
                continue
        from_period, include_setup = None, True
        while True:
            due = due_charges(
                a, mine, horizon, from_period, include_setup, max_periods=COUNT_CHUNK_PERIODS
            )
            run.charges += due.charges
            if due.complete or due.through is None:
                break
            from_period, include_setup = due.through + timedelta(days=1), False
            await breathe()
    return run


async def _over_limit(
    store: Ledger, t: Tracked, versions: list[PackageVersion], horizon: datetime, limit: int
) -> Held | None:
    """Whether a tick at `horizon` would hold `t` (docs/contract.md §4 ChargesHeld): a look at the
    first `limit` + 1 periods decides most assignments; only one that may be over is counted
    whole, a chunk at a time."""
    start = t.ticked_through + timedelta(days=1) if t.ticked_through else None
    probe = due_charges(
        t.assignment,
        versions,
        horizon,
        start,
        not t.setup_done,
        max_periods=limit + 1,
        scheduled=True,
    )
    if probe.complete and len(probe.charges) <= limit:
        return None  # those that count are fewer still
    count, first, last = await planning.count_charges(store, t, versions, horizon, None)
    if count <= limit or first is None or last is None:
        return None
    return Held(count, first, last)
