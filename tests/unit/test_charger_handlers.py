"""The charger's handlers with in-memory fakes (docs/contract.md §4, §5): the projections give
each assignment its due moment, a tick accepted makes the due charges in order, the spend
limit declines, the catch-up limit holds and ReleaseHeldCharges releases, RunPackage
simulates without charging."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charger.domain.catch_up import Policy
from charger.domain.charge_run import Made
from charger.service_layer import handlers, ticks
from charger.service_layer.charging import charge_batch
from charger.service_layer.dependencies import NONE, Dependencies
from charger.service_layer.handlers import handle_events
from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    ClockTicked,
    PackageAssigned,
    PackageDefined,
    ReleaseHeldCharges,
    RunPackage,
    SpendLimitSet,
)
from pkgshared.exceptions import RuleBroken
from tests.unit.fakes.charger import FakeUnitOfWork


class _Open:
    """A barrier already passed (every input read to its end)."""

    async def check(self, _id: object, _positions: object) -> None:
        pass


def _package(frequency: str = "monthly", match: list[int] | None = None, **extra: Any):
    return PackageDefined(
        package_id=f"p-{frequency}",
        version=1,
        name=frequency,
        kind="recurring",
        retail="2.50",
        currency="GBP",
        frequency=frequency,
        frequency_match=[1] if match is None and frequency == "monthly" else (match or []),
        effective_from=None,
        **extra,
    )


def _assigned(package: PackageDefined, start: str = "2026-01-01", customer: str = "acme"):
    return PackageAssigned(
        assignment_id=uuid.uuid4(),
        customer_id=customer,
        package_id=package.package_id,
        package_version=1,
        quantity=1,
        start_date=start,
        auto_decrement_credit=True,
        timezone="Europe/London",
    )


async def _tick(uow: FakeUnitOfWork, at: datetime, policy: Policy | None = None):
    tick = ClockTicked(tick_id=uuid.uuid4(), at=at)
    assert await ticks.accept_tick(tick, uow, Dependencies(inputs=_Open()))  # type: ignore[arg-type]
    made = Made()
    while claimed := await uow.ledger.claim_due_customers(at, 100):
        batch, _ = await charge_batch(claimed, uow, policy or Policy(), at, tick.tick_id)
        made.add(batch)
    return made


def _row(uow: FakeUnitOfWork, assigned: PackageAssigned):
    return uow.tables.assignments[assigned.assignment_id]


async def test_an_assignment_before_its_package_falls_due_once_the_version_is_read() -> None:
    uow = FakeUnitOfWork()
    package = _package()
    assigned = _assigned(package)
    await handle_events([assigned], uow)
    assert _row(uow, assigned).due is None  # no version: nothing can be due
    assert uow.tables.customers["acme"].due is None

    await handle_events([package], uow)
    first = datetime(2026, 1, 1, tzinfo=UTC)  # midnight in London on 1 January is UTC
    assert _row(uow, assigned).due == first
    assert uow.tables.customers["acme"].due == first


async def test_a_tick_charges_every_period_due_in_order_and_moves_the_due_moment() -> None:
    uow = FakeUnitOfWork()
    package = _package()
    assigned = _assigned(package)
    await handle_events([package, assigned], uow)
    made = await _tick(uow, datetime(2026, 3, 2, tzinfo=UTC))
    debits = uow.events("CreditDebited")
    assert made.charged == 3
    assert [d["period_start"] for d in debits] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert {d["amount"] for d in debits} == {"2.50"}
    # The next charge is 1 April, midnight in London (BST): 23:00 UTC the day before.
    assert uow.tables.customers["acme"].due == datetime(2026, 3, 31, 23, tzinfo=UTC)
    assert await _tick(uow, datetime(2026, 3, 3, tzinfo=UTC)) == Made()  # nothing new


async def test_an_ended_assignment_is_due_no_more() -> None:
    uow = FakeUnitOfWork()
    package = _package()
    assigned = _assigned(package)
    await handle_events([package, assigned], uow)
    await _tick(uow, datetime(2026, 1, 2, tzinfo=UTC))
    ended = AssignmentEnded(
        assignment_id=assigned.assignment_id,
        customer_id="acme",
        package_id=package.package_id,
        end_date=date(2026, 1, 31),
    )
    await handle_events([ended], uow)
    assert _row(uow, assigned).due is None
    assert uow.tables.customers["acme"].due is None


async def test_the_spend_limit_declines_what_would_exceed_it() -> None:
    uow = FakeUnitOfWork()
    package = _package("daily")
    limit = SpendLimitSet(customer_id="acme", monthly_limit=Decimal("5.00"), currency="GBP")
    await handle_events([package, limit, _assigned(package)], uow)
    made = await _tick(uow, datetime(2026, 1, 3, 12, tzinfo=UTC))
    assert (made.charged, made.declined) == (2, 1)  # 2.50 + 2.50, then over 5.00
    assert [d["period_start"] for d in uow.events("ChargeDeclined")] == ["2026-01-03"]


async def test_over_the_catch_up_limit_an_assignment_is_held_then_released() -> None:
    uow = FakeUnitOfWork()
    package = _package("daily")
    assigned = _assigned(package)
    await handle_events([package, assigned], uow)
    made = await _tick(uow, datetime(2026, 2, 20, 12, tzinfo=UTC), Policy(20))
    assert (made.charged, made.held) == (0, 1)
    (held,) = uow.events("ChargesHeld")
    assert (held["count"], held["first_period_start"]) == (51, "2026-01-01")
    assert await uow.ledger.hold_of("acme", assigned.assignment_id) == "held"

    def release(customer: str = "acme", assignment: uuid.UUID = assigned.assignment_id):
        return ReleaseHeldCharges(customer_id=customer, assignment_id=assignment)

    with pytest.raises(RuleBroken, match="has no assignment"):
        await handlers.release_held(release(customer="someone-else"), uow, NONE)  # type: ignore[arg-type]
    await handlers.release_held(release(), uow, NONE)  # type: ignore[arg-type]
    assert len(uow.events("ChargesReleased")) == 1
    with pytest.raises(RuleBroken, match="already released"):
        await handlers.release_held(release(), uow, NONE)  # type: ignore[arg-type]

    made = await _tick(uow, datetime(2026, 2, 20, 13, tzinfo=UTC), Policy(20))
    assert made.charged == 51  # every period, without the limit, once
    assert await uow.ledger.hold_of("acme", assigned.assignment_id) == "none"


async def test_a_simulated_run_reports_and_charges_nothing() -> None:
    uow = FakeUnitOfWork()
    package = _package()
    await handle_events([package, _assigned(package)], uow)
    run = RunPackage(
        request_id=uuid.uuid4(), customer_id="acme", date=date(2026, 2, 1), simulate=True
    )
    await handlers.handle_command(run, uow, Dependencies(inputs=_Open(), policy=Policy()))  # type: ignore[arg-type]
    (report,) = uow.events("PackageRunReported")
    assert [line["status"] for line in report["lines"]] == ["would_charge", "would_charge"]
    assert report["totals"] == {"GBP": "5.00"}
    assert uow.tables.ledger == {} and uow.events("CreditDebited") == []


async def test_a_prorated_start_then_an_early_end_credits_once_per_period() -> None:
    """docs/contract.md §7 through the handlers: the worked example's April part-period and May,
    then an end date read after May: one CreditIssued for May; the end moved earlier again:
    April's days are credited (its first credit) and May no further."""
    uow = FakeUnitOfWork()
    pbx = _package(proration="daily").model_copy(
        update={"retail": Decimal("30.00"), "currency": "USD"}
    )
    assigned = _assigned(pbx, start="2026-04-10").model_copy(
        update={"quantity": 2, "timezone": "UTC"}
    )
    await handle_events([pbx, assigned], uow)
    await _tick(uow, datetime(2026, 4, 10, 0, 0, 1, tzinfo=UTC))
    await _tick(uow, datetime(2026, 5, 1, 0, 0, 1, tzinfo=UTC))
    debits = uow.events("CreditDebited")
    assert [
        (d["period_start"], d["period_end"], d["amount"], d["charged_days"]) for d in debits
    ] == [
        ("2026-04-10", "2026-05-01", "42.000000", 21),
        ("2026-05-01", "2026-06-01", "60.00", None),
    ]
    ended = AssignmentEnded(
        assignment_id=assigned.assignment_id,
        customer_id="acme",
        package_id=pbx.package_id,
        end_date=date(2026, 5, 19),
    )
    await handle_events([ended], uow)
    await handle_events([ended], uow)  # read again: nothing more
    credits = uow.events("CreditIssued")
    assert [
        (c["period_start"], c["credited_from"], c["credited_days"], c["amount"]) for c in credits
    ] == [("2026-05-01", "2026-05-20", 12, "23.225806")]
    assert credits[0]["debit_id"] == debits[1]["debit_id"]
    earlier = ended.model_copy(update={"end_date": date(2026, 4, 20), "event_id": uuid.uuid4()})
    await handle_events([earlier], uow)
    credits = uow.events("CreditIssued")
    assert [
        (c["period_start"], c["credited_from"], c["credited_days"], c["amount"]) for c in credits
    ] == [
        ("2026-05-01", "2026-05-20", 12, "23.225806"),
        ("2026-04-10", "2026-04-21", 10, "20.000000"),
    ]
    # Credits do not count against the spend limit, and nothing is charged after the end.
    await _tick(uow, datetime(2026, 7, 1, tzinfo=UTC))
    assert len(uow.events("CreditDebited")) == 2


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(1, 60)),
        st.tuples(st.just("end"), st.integers(-40, 200)),
        st.tuples(st.just("change"), st.one_of(st.none(), st.integers(-40, 200))),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    ops=OPS,
    frequency=st.sampled_from([("weekly", [1, 4]), ("monthly", [1, 15]), ("monthly", [31])]),
)
def test_random_ends_and_end_changes_never_credit_a_period_twice(
    ops: list[tuple[str, int | None]], frequency: tuple[str, list[int]]
) -> None:
    """Ticks forward, EndAssignment and ChangeAssignment (end dates moved back and forth,
    removed) in any order: each debited period is credited at most once, never for more
    days or money than it was debited, and nothing is debited after a credited period's
    credit starts unless the assignment was extended again."""

    async def run() -> None:
        uow = FakeUnitOfWork()
        name, match = frequency
        package = _package(name, match, proration="daily")
        start = date(2026, 1, 10)
        assigned = _assigned(package, start=start.isoformat()).model_copy(
            update={"timezone": "UTC"}
        )
        await handle_events([package, assigned], uow)
        now = datetime(2026, 1, 10, tzinfo=UTC)
        for op, value in ops:
            if op == "tick":
                assert value is not None
                now += timedelta(days=value)
                await _tick(uow, now)
            elif op == "end":
                assert value is not None
                end = max(start, start + timedelta(days=value))
                await handle_events(
                    [
                        AssignmentEnded(
                            assignment_id=assigned.assignment_id,
                            customer_id="acme",
                            package_id=package.package_id,
                            end_date=end,
                        )
                    ],
                    uow,
                )
            else:
                end_date = None if value is None else max(start, start + timedelta(days=value))
                changed = AssignmentChanged(
                    **assigned.model_dump(exclude={"event_type", "event_id", "end_date"}),
                    end_date=end_date,
                    effective_from=start,
                )
                await handle_events([changed], uow)
        debits = {d["debit_id"]: d for d in uow.events("CreditDebited")}
        credits = uow.events("CreditIssued")
        assert len({c["credit_id"] for c in credits}) == len(credits)
        assert len({c["debit_id"] for c in credits}) == len(credits)
        for c in credits:
            debit = debits[c["debit_id"]]
            assert c["period_start"] == debit["period_start"]
            assert c["period_end"] == debit["period_end"]
            charged = (
                debit["charged_days"]
                or (
                    date.fromisoformat(debit["period_end"])
                    - date.fromisoformat(debit["period_start"])
                ).days
            )
            assert 0 < c["credited_days"] <= charged
            assert Decimal(c["amount"]) <= Decimal(debit["amount"])

    asyncio.run(run())


async def test_a_batch_of_ends_and_changes_keeps_each_assignment_s_order() -> None:
    """Ends and changes of many assignments are projected a run at once; one assignment's
    second event in the same batch waits for its first (the end moved twice: May credited
    first, then April), and another's end in between is credited with them."""
    uow = FakeUnitOfWork()
    pbx = _package(proration="daily").model_copy(
        update={"retail": Decimal("30.00"), "currency": "USD"}
    )
    first = _assigned(pbx, start="2026-04-10").model_copy(update={"quantity": 2, "timezone": "UTC"})
    second = _assigned(pbx, start="2026-04-10", customer="zeta").model_copy(
        update={"quantity": 2, "timezone": "UTC"}
    )
    await handle_events([pbx, first, second], uow)
    await _tick(uow, datetime(2026, 5, 1, 0, 0, 1, tzinfo=UTC))

    def ended(a: PackageAssigned, day: date) -> AssignmentEnded:
        return AssignmentEnded(
            assignment_id=a.assignment_id,
            customer_id=a.customer_id,
            package_id=pbx.package_id,
            end_date=day,
        )

    await handle_events(
        [
            ended(first, date(2026, 5, 19)),
            ended(second, date(2026, 5, 19)),
            ended(first, date(2026, 4, 20)),
        ],
        uow,
    )
    credits = [
        (c["customer_id"], c["period_start"], c["credited_days"])
        for c in uow.events("CreditIssued")
    ]
    assert credits == [
        ("acme", "2026-05-01", 12),
        ("zeta", "2026-05-01", 12),
        ("acme", "2026-04-10", 10),
    ]
