"""Rollover and reversal in the allowance's handlers, with in-memory fakes (docs/contract.md §6
"Rollover", "Reversal"): what carries on expiry and into which grant, once; what a reversal
gives back, loses or leaves alone; reversals in their customer's order; thresholds kept."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from allowance.adapters.waiting import WaitingCalls
from allowance.domain.model import Call
from allowance.domain.reversal import Reversal
from allowance.domain.rollover import rollover_id
from allowance.service_layer import handlers
from pkgcontract import topics
from pkgcontract.messages import (
    AllowanceBalance,
    ChargesSettled,
    FreeMinutesGranted,
    FreeMinutesReturned,
    UsageRated,
    UsageReversed,
    natural_event_id,
)
from tests.unit.fakes.allowance import FakeUnitOfWork

JAN15, FEB15, MAR15, MAR20 = (
    datetime(2026, 1, 15, tzinfo=UTC),
    datetime(2026, 2, 15, tzinfo=UTC),
    datetime(2026, 3, 15, tzinfo=UTC),
    datetime(2026, 3, 20, tzinfo=UTC),
)


class _Open:
    async def check(self, _id: object, _positions: object) -> None:
        pass


async def _no_usage() -> dict[int, int]:
    return {}


async def settle(uow: FakeUnitOfWork, at: datetime) -> None:
    """A ChargesSettled with usage.rated empty: calls before it applied already; grants expire."""
    deps = handlers.Dependencies(grants_read=_Open(), usage_ends=_no_usage)  # type: ignore[arg-type]
    await handlers.settle(ChargesSettled(tick_id=uuid.uuid4(), at=at), uow, deps)
    await handlers.expire_if_ready({}, uow)


def granted(
    start: datetime,
    until: datetime,
    minutes: int = 200,
    percent: int = 50,
    days: int | None = 30,
    notify: list[int] | None = None,
    customer: str = "uk-100",
) -> FreeMinutesGranted:
    return FreeMinutesGranted(
        grant_id=uuid.uuid4(),
        customer_id=customer,
        did=None,
        assignment_id=uuid.uuid4(),
        package_id="uk-100",
        minutes=minutes,
        destination_prefixes=["44"],
        valid_from=start,
        valid_until=until,
        notify_at_percent=notify or [],
        rollover_percent=percent,
        rollover_days=days if percent else None,
    )


def call(at: datetime, seconds: int, customer: str = "uk-100", to: str = "442071234567") -> Call:
    c = handlers.call_of(
        UsageRated(
            usage_id=uuid.uuid4(),
            customer_id=customer,
            amount=Decimal("0.002") * seconds,
            currency="GBP",
            occurred_at=at,
            destination=to,
            duration_seconds=seconds,
        )
    )
    assert c is not None
    return c


def reversal(c: Call, customer: str | None = None) -> Reversal:
    r = handlers.to_apply(
        UsageReversed(
            reversal_id=uuid.uuid4(), usage_id=c.usage_id, customer_id=customer or c.customer_id
        )
    )
    assert isinstance(r, Reversal)
    return r


def balances(uow: FakeUnitOfWork, grant_id: Any = None) -> list[dict[str, Any]]:
    out = uow.events("AllowanceBalance")
    for b in out:
        AllowanceBalance.model_validate(b)
    return [b for b in out if grant_id is None or b["grant_id"] == str(grant_id)]


def returned(uow: FakeUnitOfWork) -> list[dict[str, Any]]:
    out = uow.events("FreeMinutesReturned")
    for r in out:
        FreeMinutesReturned.model_validate(r)
    return out


# ------------------------------------------------------------------ rollover
async def test_the_worked_example_carries_half_of_an_unused_grant_once() -> None:
    uow = FakeUnitOfWork()
    jan, feb = granted(JAN15, FEB15), granted(FEB15, MAR15)
    await handlers.add_grants([jan, feb], uow)
    assert await handlers.apply_calls([call(JAN15 + timedelta(days=5), 12_000)], uow) == (1, 1)
    await settle(uow, MAR20)
    carried = rollover_id(feb.grant_id)
    assert carried == uuid.uuid5(uuid.NAMESPACE_URL, f"packages:rollover:{feb.grant_id}")
    assert not any(b["grant_id"] == str(rollover_id(jan.grant_id)) for b in balances(uow))
    feb_last = balances(uow, feb.grant_id)[-1]
    assert (feb_last["status"], feb_last["rolled_over_seconds"]) == ("expired", 6000)
    assert feb_last["remaining_seconds"] == 6000  # 12,000 - 0 used - 6,000 carried
    [first] = balances(uow, carried)
    assert first == {
        **first,
        "granted_seconds": 6000,
        "remaining_seconds": 6000,
        "rolled_over_from": str(feb.grant_id),
        "assignment_id": str(feb.assignment_id),
        "destination_prefixes": ["44"],
        "valid_from": "2026-03-15T00:00:00Z",
        "valid_until": "2026-04-14T00:00:00Z",
        "status": "active",
    }
    # The expired grant's balance comes before its rollover grant's first.
    ids = [b["grant_id"] for b in balances(uow)]
    assert ids[-2:] == [str(feb.grant_id), str(carried)]
    await settle(uow, MAR20 + timedelta(days=1))  # nothing more expires or carries
    await settle(uow, datetime(2026, 4, 14, tzinfo=UTC))  # the rollover grant expires...
    assert balances(uow, carried)[-1]["status"] == "expired"
    assert not any(  # ...and never rolls over again
        b["grant_id"] == str(rollover_id(carried)) for b in balances(uow)
    )
    assert len(uow.repository.grants) == 3


async def test_the_carry_is_capped_by_the_share_and_by_what_is_unused() -> None:
    uow = FakeUnitOfWork()
    mostly_used, barely_used, used_up = (
        granted(JAN15, FEB15, minutes=100, percent=50),
        granted(JAN15, FEB15, minutes=100, percent=25, customer="b"),
        granted(JAN15, FEB15, minutes=10, percent=100, customer="c"),
    )
    await handlers.add_grants([mostly_used, barely_used, used_up], uow)
    await handlers.apply_calls(
        [
            call(JAN15, 5000),  # 1,000 s unused of 6,000: all of it carries (cap 3,000)
            call(JAN15, 60, customer="b"),  # 5,940 unused: the cap, 1,500, carries
            call(JAN15, 600, customer="c"),  # nothing unused: nothing carries
        ],
        uow,
    )
    await settle(uow, FEB15)
    grants = uow.repository.grants
    assert grants[rollover_id(mostly_used.grant_id)].granted_seconds == 1000
    assert grants[rollover_id(barely_used.grant_id)].granted_seconds == 1500
    assert rollover_id(used_up.grant_id) not in grants
    assert grants[used_up.grant_id].rolled_over_seconds == 0


async def test_a_rollover_grant_is_used_before_the_next_periods_grant() -> None:
    uow = FakeUnitOfWork()
    feb, mar = granted(FEB15, MAR15), granted(MAR15, datetime(2026, 4, 15, tzinfo=UTC))
    await handlers.add_grants([feb, mar], uow)
    await settle(uow, MAR20)
    c = call(MAR20, 7000)
    await handlers.apply_calls([c], uow)
    [used] = uow.events("FreeMinutesUsed")
    assert [(g["grant_id"], g["seconds"]) for g in used["grants"]] == [
        (str(rollover_id(feb.grant_id)), 6000),
        (str(mar.grant_id), 1000),
    ]


async def test_a_late_call_uses_only_what_the_expired_grant_kept_after_the_carry() -> None:
    uow = FakeUnitOfWork()
    feb = granted(FEB15, MAR15)
    await handlers.add_grants([feb], uow)
    await settle(uow, MAR20)  # 6,000 carried, 6,000 left in the expired grant
    late = call(MAR15 - timedelta(days=1), 8000)
    assert await handlers.apply_calls([late], uow) == (1, 1)
    [used] = uow.events("FreeMinutesUsed")
    assert used["grants"] == [
        {"grant_id": str(feb.grant_id), "seconds": 6000, "remaining_seconds": 0}
    ]
    last = balances(uow, feb.grant_id)[-1]
    assert (last["used_seconds"], last["rolled_over_seconds"], last["remaining_seconds"]) == (
        6000,
        6000,
        0,
    )
    assert uow.repository.grants[rollover_id(feb.grant_id)].used_seconds == 0  # not taken back


async def test_a_grant_read_already_expired_rolls_over_as_it_is_read_once() -> None:
    uow = FakeUnitOfWork()
    await settle(uow, MAR20)
    feb = granted(FEB15, MAR15, days=3)  # its rollover grant ends 2026-03-18: expired too
    await handlers.add_grants([feb], uow)
    await handlers.add_grants([feb], uow)  # read again: nothing
    first, carried = balances(uow)
    assert (first["grant_id"], first["status"], first["rolled_over_seconds"]) == (
        str(feb.grant_id),
        "expired",
        6000,
    )
    assert (carried["rolled_over_from"], carried["status"]) == (str(feb.grant_id), "expired")
    await settle(uow, MAR20 + timedelta(days=60))
    assert len(balances(uow)) == 2 and len(uow.repository.grants) == 2


async def test_no_rollover_without_a_share() -> None:
    uow = FakeUnitOfWork()
    g = granted(FEB15, MAR15, percent=0)
    await handlers.add_grants([g], uow)
    await settle(uow, MAR20)
    assert list(uow.repository.grants) == [g.grant_id]
    assert balances(uow)[-1]["rolled_over_seconds"] == 0


# ------------------------------------------------------------------ reversal
async def test_a_reversal_gives_back_to_active_grants_and_loses_on_expired_ones() -> None:
    """The worked example: 7,000 s from the rollover grant (6,000) and March's (1,000)."""
    for rollover_expired in (False, True):
        uow = FakeUnitOfWork()
        feb, mar = granted(FEB15, MAR15), granted(MAR15, datetime(2026, 5, 15, tzinfo=UTC))
        await handlers.add_grants([feb, mar], uow)
        await settle(uow, MAR20)
        c = call(MAR20, 7000)
        await handlers.apply_calls([c], uow)
        if rollover_expired:
            await settle(uow, datetime(2026, 4, 14, tzinfo=UTC))
        before = len(balances(uow))
        r = reversal(c)
        assert await handlers.apply_calls([r], uow) == (1, 0)
        [back] = returned(uow)
        carried = str(rollover_id(feb.grant_id))
        lost = 6000 if rollover_expired else 0
        assert back["event_id"] == str(natural_event_id(f"returned:{c.usage_id}"))
        assert (back["usage_id"], back["reversal_id"]) == (str(c.usage_id), str(r.reversal_id))
        assert back["credit"] == "14.000000"  # the call's whole credit
        assert back["grants"] == [
            {
                "grant_id": carried,
                "seconds_returned": 6000 - lost,
                "seconds_lost": lost,
                "remaining_seconds": 6000 - lost,
            },
            {
                "grant_id": str(mar.grant_id),
                "seconds_returned": 1000,
                "seconds_lost": 0,
                "remaining_seconds": 12_000,
            },
        ]
        route = next(e[:2] for e in uow.emitted if e[2] == "FreeMinutesReturned")
        assert route == (topics.FREE_MINUTES_USED, "uk-100")
        changed = balances(uow)[before:]
        assert {b["grant_id"] for b in changed} == (
            {str(mar.grant_id)} if rollover_expired else {carried, str(mar.grant_id)}
        )
        mar_back = changed[-1]
        assert (mar_back["used_seconds"], mar_back["returned_seconds"]) == (0, 1000)
        assert mar_back["event_id"] == str(
            natural_event_id(f"balance:{mar.grant_id}:0:r1000:active")
        )
        assert uow.repository.grants[feb.grant_id].rolled_over_seconds == 6000  # unchanged


async def test_a_reversal_of_a_call_not_covered_never_read_or_reversed_before_does_nothing() -> (
    None
):
    uow = FakeUnitOfWork()
    await handlers.add_grants([granted(JAN15, FEB15)], uow)
    covered, elsewhere = call(JAN15, 60), call(JAN15, 60, to="919812345678")
    await handlers.apply_calls([covered, elsewhere], uow)
    before = list(uow.emitted)
    never = call(JAN15, 60)
    first = reversal(covered)
    assert await handlers.apply_calls(
        [reversal(elsewhere), reversal(never), reversal(covered, customer="other")], uow
    ) == (3, 0)
    assert uow.emitted == before  # nothing at all
    await handlers.apply_calls([first], uow)
    assert len(returned(uow)) == 1
    after = list(uow.emitted)
    await handlers.apply_calls([first, reversal(covered)], uow)  # a repeat, a second reversal
    assert uow.emitted == after


async def test_a_reversal_waits_behind_its_customers_call_then_both_apply_in_order() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants([granted(JAN15, MAR15)], uow)
    c = call(JAN15 + timedelta(hours=12), 600)
    other = call(JAN15, 60, customer="b")
    waiting = WaitingCalls()
    waiting.start(0, 0)
    for offset, item in enumerate([c, reversal(c), reversal(other)]):
        waiting.add(0, offset, item)
    assert waiting.count == 3
    early = JAN15 + timedelta(hours=1)
    waiting.set_horizon(early)
    # The call is not settled: its reversal waits behind it; b's reversal is due at once.
    chosen = [w.call for w in waiting.settled(early, 100, 100)]
    assert [type(x).__name__ for x in chosen] == ["Reversal"]
    assert chosen[0].customer_id == "b"
    assert not waiting.read_to(0, 3, early)  # b's reversal is due before an expiry at `early`
    later = JAN15 + timedelta(days=1)
    chosen = [w.call for w in waiting.settled(later, 100, 100)]
    assert [x.usage_id for x in chosen] == [c.usage_id, c.usage_id, other.usage_id]
    await settle(uow, later)
    assert await handlers.apply_calls(chosen, uow) == (3, 1)
    [used], [back] = uow.events("FreeMinutesUsed"), returned(uow)
    assert back["grants"][0]["seconds_returned"] == 600
    # One balance for the grant, its end state: the call applied then reversed.
    last = balances(uow)[-1]
    assert (last["used_seconds"], last["returned_seconds"], last["remaining_seconds"]) == (
        0,
        600,
        12_000,
    )
    assert used["covered_seconds"] == 600


async def test_a_parked_customers_reversal_is_parked_behind_its_calls() -> None:
    uow = FakeUnitOfWork()
    far = datetime(2027, 1, 20, tzinfo=UTC)
    await handlers.add_grants([granted(JAN15, datetime(2027, 6, 1, tzinfo=UTC))], uow)
    near, ahead = call(JAN15, 100), call(far, 100)
    at = JAN15 + timedelta(days=10)
    waiting = WaitingCalls()
    waiting.start(0, 0)
    waiting.set_horizon(at)
    for offset, item in enumerate([near, ahead, reversal(near)]):
        waiting.add(0, offset, item)
    parking = [w.call for w in waiting.parking(100)]
    done = await handlers.apply_waiting(
        handlers.CallsToApply(at, [], parking, {"uk-100": 0}, [0], True, 100), uow
    )
    assert done.calls == 1 and returned(uow) == []  # the reversal waits behind the far call
    assert [type(c).__name__ for _, c in uow.repository.parked] == ["Call", "Reversal"]
    later = far + timedelta(days=1)
    done = await handlers.apply_waiting(
        handlers.CallsToApply(later, [], [], {}, [0], True, 100), uow
    )
    assert done.calls == 2 and uow.repository.parked == []
    [back] = returned(uow)
    assert back["usage_id"] == str(near.usage_id)


async def test_thresholds_reached_are_not_sent_again_after_seconds_come_back() -> None:
    uow = FakeUnitOfWork()
    g = granted(JAN15, MAR15, minutes=10, notify=[50, 100])  # 600 s
    await handlers.add_grants([g], uow)
    first = call(JAN15, 400)
    await handlers.apply_calls([first], uow)
    assert [t["percent"] for t in uow.events("AllowanceThresholdReached")] == [50]
    await handlers.apply_calls([reversal(first), call(JAN15, 350)], uow)
    # 350 s of 600 is 58 %: 50 was reached before and stays reached; nothing sent again.
    assert [t["percent"] for t in uow.events("AllowanceThresholdReached")] == [50]
    await handlers.apply_calls([call(JAN15, 250)], uow)  # 600 s: 100 % for the first time
    assert [t["percent"] for t in uow.events("AllowanceThresholdReached")] == [50, 100]
    assert uow.repository.grants[g.grant_id].peak_used_seconds == 400
