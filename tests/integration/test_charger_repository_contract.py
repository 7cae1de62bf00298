"""One set of tests for what the charger's handlers expect of their repositories, run against
the in-memory fakes the unit tests use and against the PostgreSQL ones: the fakes may stand in
only as long as both pass (the two rules kept in SQL among them)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from charger.adapters.clock import ClockRepository
from charger.adapters.ledger import LedgerRepository
from charger.adapters.projections import ProjectionRepository
from charger.bootstrap import MIGRATIONS
from charger.domain.model import Assignment, Terms
from charger.service_layer.ports import Clock, Ledger, LedgerRow, Projections
from pkgcontract.messages import PackageDefined, SpendLimitSet, UsageRated
from pkgshared.db import SHARED_MIGRATIONS, migrate
from tests.unit.fakes.charger import ChargerTables, FakeClock, FakeLedger, FakeProjections

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class Repositories:
    projections: Projections
    ledger: Ledger
    clock: Clock


@pytest.fixture(params=["fake", "postgres"])
async def repos(request: Any, pool: Any) -> AsyncIterator[Repositories]:
    if request.param == "fake":
        tables = ChargerTables()
        yield Repositories(FakeProjections(tables), FakeLedger(tables), FakeClock(tables))
        return
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    async with pool.acquire() as conn, conn.transaction():
        yield Repositories(
            ProjectionRepository(conn), LedgerRepository(conn), ClockRepository(conn)
        )


def _assignment(customer: str = "acme", package: str = "gold", did: str | None = None):
    return Assignment(
        assignment_id=uuid.uuid4(),
        customer_id=customer,
        did=did,
        package_id=package,
        start_date=date(2026, 1, 1),
        end_date=None,
        timezone="UTC",
        terms=(Terms(None, 1, True, None),),
    )


async def _add(repos: Repositories, *new: tuple[Assignment, datetime | None]) -> None:
    await repos.projections.lock_customers(sorted({a.customer_id for a, _ in new}))
    await repos.projections.add_assignments(list(new))


async def test_assignments_added_make_their_customer_due_at_the_earliest(
    repos: Repositories,
) -> None:
    early, late, never = _assignment(), _assignment(), _assignment()
    await _add(repos, (late, FEB), (never, None))
    await _add(repos, (early, JAN), (late, MAR))  # the repeat of `late` is ignored
    due, later = await repos.ledger.due_assignments(["acme"], JAN)
    assert [t.assignment for t in due] == [early]
    assert later == {"acme": FEB}  # `never` has no due moment: not among them
    assert await repos.ledger.claim_due_customers(JAN, 10) == ["acme"]
    assert await repos.ledger.claim_due_customers(datetime(2025, 12, 31, tzinfo=UTC), 10) == []

    await repos.projections.set_due({early.assignment_id: None})
    await repos.projections.refresh_customers(["acme"])
    assert await repos.ledger.claim_due_customers(JAN, 10) == []
    assert await repos.ledger.claim_due_customers(FEB, 10) == ["acme"]


async def test_a_package_s_assignments_are_found_by_customer(repos: Repositories) -> None:
    mine, theirs, other_package = _assignment(), _assignment("zeta"), _assignment(package="x")
    await _add(repos, (mine, None), (theirs, None), (other_package, None))
    assert await repos.projections.customers_of_package("gold") == ["acme", "zeta"]
    found = await repos.projections.package_assignments(["acme"], "gold")
    assert [t.assignment for t in found] == [mine]
    stranger = uuid.uuid4()
    found_customers = await repos.projections.customers_of([theirs.assignment_id, stranger])
    assert found_customers == {theirs.assignment_id: "zeta"}

    ended = dataclasses.replace(mine, end_date=date(2026, 6, 30))
    others = dataclasses.replace(theirs, end_date=date(2026, 7, 31))
    await repos.projections.save([(ended, MAR), (others, None)])
    tracked = await repos.projections.tracked([mine.assignment_id, theirs.assignment_id])
    assert tracked[mine.assignment_id].assignment == ended
    assert tracked[theirs.assignment_id].assignment == others


async def test_progress_holds_and_releases(repos: Repositories) -> None:
    a = _assignment()
    await _add(repos, (a, JAN))
    await repos.ledger.advance([(a.assignment_id, date(2026, 1, 1), True, None, None, "held")])
    (t,) = await repos.ledger.assignments_of(["acme"])
    assert (t.ticked_through, t.setup_done, t.hold) == (date(2026, 1, 1), True, "held")
    assert await repos.ledger.hold_of("acme", a.assignment_id) == "held"
    assert await repos.ledger.hold_of("zeta", a.assignment_id) is None  # not theirs
    assert await repos.ledger.wake_released(FEB) == 0  # held, not released: stays

    await repos.ledger.release([a.assignment_id])
    assert await repos.ledger.hold_of("acme", a.assignment_id) == "released"
    await repos.ledger.set_next_due({"acme": None})
    assert await repos.ledger.wake_released(FEB) == 1
    due, _ = await repos.ledger.due_assignments(["acme"], FEB)
    assert [x.assignment for x in due] == [a]
    assert await repos.ledger.claim_due_customers(FEB, 10) == ["acme"]


async def test_the_clock_moves_only_forward_and_settles_when_nothing_is_due(
    repos: Repositories,
) -> None:
    a = _assignment()
    await _add(repos, (a, FEB))
    first, second = uuid.uuid4(), uuid.uuid4()
    assert await repos.clock.advance_clock(JAN, first)
    assert not await repos.clock.advance_clock(JAN, second)
    assert await repos.clock.clock() == (JAN, first)
    assert await repos.clock.tick_to_settle() == (first, JAN)
    await repos.clock.mark_settled()
    assert await repos.clock.tick_to_settle() is None
    assert await repos.clock.advance_clock(FEB, second)
    assert await repos.clock.tick_to_settle() is None  # `acme` is due at FEB, not charged yet


async def test_a_refused_tick_is_recorded_once_and_leaves_the_clock_alone(
    repos: Repositories,
) -> None:
    tick = uuid.uuid4()
    assert await repos.clock.refuse(tick, datetime(2999, 1, 1, tzinfo=UTC), JAN)
    assert not await repos.clock.refuse(tick, datetime(2999, 1, 1, tzinfo=UTC), FEB)
    assert await repos.clock.refuse(uuid.uuid4(), MAR, JAN)
    assert await repos.clock.clock() is None


async def test_spend_limits_count_charged_debits_by_month_and_usage_by_window(
    repos: Repositories,
) -> None:
    a = _assignment(did="441000000001")
    await _add(repos, (a, None))
    await repos.projections.set_spend_limit(
        SpendLimitSet(customer_id="acme", monthly_limit=Decimal("9.00"), currency="GBP")
    )
    limits = await repos.ledger.spend_limits(["acme", "zeta"])
    assert list(limits) == ["acme"] and limits["acme"].monthly_limit == Decimal("9.00")

    def row(key: str, kind: str, status: str, day: date, amount: str | None) -> tuple[Any, ...]:
        money = None if amount is None else Decimal(amount)
        return LedgerRow(
            key, "acme", a.assignment_id, kind, status, day, money, "GBP", None, "scheduled"
        )

    await repos.ledger.record(
        [
            row("r1", "recurring", "charged", date(2026, 1, 1), "2.00"),
            row("s1", "setup", "charged", date(2026, 1, 20), "1.00"),
            row("d1", "recurring", "declined", date(2026, 1, 2), "4.00"),
            row("g1", "grant", "charged", date(2026, 1, 1), None),
            row("r2", "recurring", "charged", date(2026, 2, 1), "8.00"),
        ]
    )
    totals = (await repos.ledger.month_totals(["acme"]))["acme"]
    assert totals.get("GBP", date(2026, 1, 31)) == Decimal("3.00")
    assert totals.get("GBP", date(2026, 2, 1)) == Decimal("8.00")
    assert await repos.ledger.ledger_status(["r1", "d1", "nope"]) == {
        "r1": ("charged", Decimal("2.00"), None, None),
        "d1": ("declined", Decimal("4.00"), None, None),
    }
    with pytest.raises(Exception):  # noqa: B017 - PostgreSQL and the fake raise differently
        await repos.ledger.record([row("r1", "recurring", "charged", date(2026, 1, 1), "2.00")])


async def test_a_version_is_stored_once_and_usage_sums_by_the_minimum_spend_rule(
    repos: Repositories,
) -> None:
    defined = PackageDefined(
        package_id="gold",
        version=1,
        name="gold",
        kind="minimum_spend",
        retail="10.00",
        currency="GBP",
        frequency="monthly",
        frequency_match=[1],
        effective_from=None,
    )
    await repos.projections.add_version(defined)
    await repos.projections.add_version(defined.model_copy(update={"name": "a repeat"}))
    (version,) = (await repos.projections.versions({"gold", "none"}))["gold"]
    assert (version.kind, version.retail) == ("minimum_spend", Decimal("10.00"))

    def call(amount: str, at: datetime, did: str | None = "441000000001", currency: str = "GBP"):
        return UsageRated(
            usage_id=uuid.uuid4(),
            customer_id="acme",
            did=did,
            amount=Decimal(amount),
            currency=currency,
            occurred_at=at,
        )

    first = call("1.00", JAN)
    await repos.projections.add_usage(
        [
            first,
            first,
            call("2.00", JAN, did=None),
            call("4.00", FEB),
            call("8.00", JAN, currency="USD"),
        ]
    )
    spends = await repos.ledger.spends(
        [("acme", None, "GBP", JAN, FEB), ("acme", "441000000001", "GBP", JAN, FEB)]
    )
    assert spends == [Decimal("3.00"), Decimal("1.00")]
    # A batch of new records only, then one repeating an earlier batch's record: each counted
    # once (PostgreSQL takes the first by COPY, the second by its ON CONFLICT way).
    await repos.projections.add_usage([call("16.00", JAN)])
    await repos.projections.add_usage([call("32.00", JAN), first])
    spends = await repos.ledger.spends(
        [("acme", None, "GBP", JAN, FEB), ("acme", "441000000001", "GBP", JAN, FEB)]
    )
    assert spends == [Decimal("51.00"), Decimal("49.00")]
