"""RunPackage's bounds (docs/contract.md §2 "Bounded work", §4 RunPackage): the horizon after the
latest tick, a simulated run's held line over the catch-up limit, and a large run done in
pieces (the event loop keeps turning while it runs)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from charger.domain.catch_up import Policy
from charger.domain.charges import due_charges
from charger.domain.decisions import decide
from charger.domain.model import MonthTotals, SpendLimit
from charger.service_layer import handlers
from charger.service_layer.dependencies import NONE, Dependencies
from charger.service_layer.handlers import handle_events
from pkgcontract.messages import PackageDefined, RunPackage, SpendLimitSet
from pkgshared.exceptions import RuleBroken
from tests.unit.fakes.charger import FakeUnitOfWork
from tests.unit.test_charger_handlers import _assigned, _Open, _package, _tick

pytestmark = pytest.mark.unit


def _free_minutes(frequency: str, retail: str = "2.50") -> PackageDefined:
    return PackageDefined(
        package_id=f"fm-{frequency}",
        version=1,
        name="minutes",
        kind="free_minutes",
        retail=retail,
        currency="GBP",
        frequency=frequency,
        frequency_match=[1] if frequency == "monthly" else [],
        free_minutes=10,
        effective_from=None,
    )


def _run(day: date, simulate: bool = True, customer: str = "acme") -> RunPackage:
    return RunPackage(request_id=uuid.uuid4(), customer_id=customer, date=day, simulate=simulate)


async def _report(uow: FakeUnitOfWork, run: RunPackage, policy: Policy) -> list[dict[str, Any]]:
    await handlers.handle_command(run, uow, Dependencies(inputs=_Open(), policy=policy))  # type: ignore[arg-type]
    parts = [r for r in uow.events("PackageRunReported") if r["request_id"] == str(run.request_id)]
    assert [p["part"] for p in parts] == list(range(1, len(parts) + 1))
    return [line for p in parts for line in p["lines"]]


async def test_a_date_past_the_horizon_after_the_latest_tick_is_rejected_naming_it() -> None:
    uow = FakeUnitOfWork()
    package = _package("daily")
    await handle_events([package, _assigned(package, start="2026-03-01")], uow)
    await _tick(uow, datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    policy = Policy(run_max_days=366)
    assert await _report(uow, _run(date(2027, 3, 2)), policy)  # 366 days after 2026-03-01
    with pytest.raises(RuleBroken, match=r"RUN_PACKAGE_MAX_DAYS \(366\)") as broken:
        await _report(uow, _run(date(2027, 3, 3), simulate=False), policy)
    assert broken.value.errors[0].field == "date"
    with pytest.raises(RuleBroken, match=r"RUN_PACKAGE_MAX_DAYS \(10\)"):
        await _report(uow, _run(date(2026, 3, 12)), Policy(run_max_days=10))
    assert len(uow.events("CreditDebited")) == 1  # the tick's own: the runs made none


async def test_before_any_tick_any_date_is_taken_and_a_simulated_run_stays_bounded() -> None:
    uow = FakeUnitOfWork()
    package = _package("daily")
    await handle_events([package] + [_assigned(package, start="2026-01-01") for _ in range(3)], uow)
    started = time.perf_counter()
    lines = await _report(uow, _run(date(2999, 12, 31)), Policy(run_max_days=1))
    assert time.perf_counter() - started < 5  # counted from the calendar, not listed
    assert [line["status"] for line in lines] == ["held"] * 3
    # Every period starting by the next midnight: up to 3000-01-01's, due at that tick.
    assert {line["count"] for line in lines} == {(date(3000, 1, 1) - date(2026, 1, 1)).days + 1}
    assert {line["period_start"] for line in lines} == {"2026-01-01"}


async def test_a_simulated_run_over_the_catch_up_limit_reports_one_held_line() -> None:
    uow = FakeUnitOfWork()
    daily, minutes = _package("daily"), _free_minutes("monthly")
    over, under = _assigned(daily, start="2026-01-01"), _assigned(daily, start="2026-02-15")
    grants = _assigned(minutes, start="2025-01-01")  # 14 months: 14 debits and 14 grants
    await handle_events([daily, minutes, over, under, grants], uow)
    await _tick(uow, datetime(2026, 1, 5, 12, tzinfo=UTC), Policy(20))  # 5 days charged
    lines = await _report(uow, _run(date(2026, 2, 20)), Policy(20))
    held = [line for line in lines if line["status"] == "held"]
    assert [(h["assignment_id"], h["kind"], h["period_start"], h["period_end"]) for h in held] == [
        (str(grants.assignment_id), "recurring", "2025-01-01", "2026-03-01"),
        (str(over.assignment_id), "recurring", "2026-01-06", "2026-02-22"),
    ]
    assert [h["count"] for h in held] == [28, 47]  # due and not made, as a tick counts them
    assert {h["amount"] for h in held} == {None}
    # No line of its own for a held assignment, not even those already charged.
    mine = {line["assignment_id"] for line in lines if line["status"] != "held"}
    assert mine == {str(under.assignment_id)}
    assert {line["count"] for line in lines if line["status"] != "held"} == {None}
    assert len(lines) == 2 + 7  # 2026-02-15 to the next midnight's 2026-02-21
    totals = uow.events("PackageRunReported")[-1]["totals"]
    assert totals == {"GBP": str(Decimal("2.50") * 7)}  # the held lines count for nothing
    # A real run charges them all, as before.
    real = await _report(uow, _run(date(2026, 2, 20), simulate=False), Policy(20))
    assert "held" not in {line["status"] for line in real}
    assert sum(line["status"] == "charged" for line in real) == 28 + 47 + 7


async def test_a_released_assignment_is_not_held_by_a_simulated_run() -> None:
    uow = FakeUnitOfWork()
    package = _package("daily")
    assigned = _assigned(package)
    await handle_events([package, assigned], uow)
    await _tick(uow, datetime(2026, 2, 20, 12, tzinfo=UTC), Policy(20))  # held: 51 due
    lines = await _report(uow, _run(date(2026, 2, 20)), Policy(20))
    assert [line["status"] for line in lines] == ["held"]
    await handlers.release_held(_release(assigned.assignment_id), uow, NONE)  # type: ignore[arg-type]
    lines = await _report(uow, _run(date(2026, 2, 20)), Policy(20))
    assert [line["status"] for line in lines] == ["would_charge"] * 52


def _release(assignment_id: uuid.UUID) -> Any:
    from pkgcontract.messages import ReleaseHeldCharges

    return ReleaseHeldCharges(customer_id="acme", assignment_id=assignment_id)


def test_deciding_in_pieces_is_deciding_at_once() -> None:
    limit = SpendLimit(Decimal("40.00"), "GBP")
    package = _free_minutes("daily", retail="1.50")
    from charger.adapters.codec import version_from_defined

    versions = [version_from_defined(package)]
    a = _domain(_assigned(package, start="2026-01-01"))
    b = _domain(_assigned(package, start="2026-01-10"))
    horizon = datetime(2026, 3, 1, tzinfo=UTC)
    charges = sorted(
        due_charges(a, versions, horizon).charges + due_charges(b, versions, horizon).charges,
        key=lambda c: c.order,
    )
    whole = decide(charges, limit, MonthTotals(), scheduled=False)
    totals, declined = MonthTotals(), set()  # type: ignore[var-annotated]
    for size in (3, 7):  # odd sizes: a period's debit and grant fall in different pieces
        totals, declined, pieces = MonthTotals(), set(), []
        for i in range(0, len(charges), size):
            piece = charges[i : i + size]
            pieces += decide(piece, limit, totals, scheduled=False, declined_periods=declined)
        assert [o for _, o in pieces] == [o for _, o in whole]
    assert {o for _, o in whole} == {"charge", "decline"}


def _domain(assigned: Any) -> Any:
    from charger.domain.model import Assignment, Terms

    return Assignment(
        assignment_id=assigned.assignment_id,
        customer_id=assigned.customer_id,
        did=None,
        package_id=assigned.package_id,
        start_date=assigned.start_date,
        end_date=None,
        timezone=assigned.timezone,
        terms=(Terms(None, 1, True, None),),
    )


async def test_a_large_run_lets_the_event_loop_turn() -> None:
    """The largest real run of a customer (years of three daily assignments) beside a task
    that wants a turn every 10 ms: it never waits long (docs/contract.md §2 Bounded work)."""
    uow = FakeUnitOfWork()
    package = _package("daily")
    limit = SpendLimitSet(customer_id="acme", monthly_limit=Decimal("1000"), currency="GBP")
    await handle_events(
        [package, limit] + [_assigned(package, "2000-01-01") for _ in range(3)], uow
    )
    gaps: list[float] = []
    running = True

    async def other_work() -> None:
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    other = asyncio.create_task(other_work())
    started = time.perf_counter()
    lines = await _report(uow, _run(date(2026, 12, 31), simulate=False), Policy())
    took = time.perf_counter() - started
    running = False
    await other
    assert len(lines) == 3 * ((date(2027, 1, 1) - date(2000, 1, 1)).days + 1)
    # The other task had turns all along (held, it would have had none until the end): a
    # turn at least every second or so (a full collection of the garbage collector, between
    # two breaths, may take a while) and several per second on average.
    assert gaps and max(gaps) < 1.0, (max(gaps, default=None), took)
    assert len(gaps) >= took / 0.2, (len(gaps), took)


def test_pkgctl_shows_a_held_line_with_its_charges() -> None:
    from rich.console import Console

    from pkgctl import render

    held = {
        "assignment_id": "a1",
        "package_id": "daily",
        "kind": "recurring",
        "period_start": "2021-01-01",
        "period_end": "2027-01-03",
        "amount": None,
        "currency": "GBP",
        "minutes": None,
        "status": "held",
        "count": 2194,
    }
    report = {
        "customer_id": "acme",
        "date": "2027-01-02",
        "simulate": True,
        "lines": [held],
        "totals": {},
    }
    for every_line in (False, True):
        console = Console(record=True, width=200)
        render.run_report(console, report, every_line)
        assert "held: 2194 charges over the catch-up limit" in console.export_text()
