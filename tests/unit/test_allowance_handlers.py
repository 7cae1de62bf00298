"""The allowance service's handlers with in-memory fakes (CONTRACT.md §6): grants read,
calls waiting, the horizon moved by ChargesSettled, settled calls applied in order and once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from allowance.domain.waiting import WaitingCalls
from allowance.service_layer import handlers
from pkgshared import topics
from pkgshared.messages import ChargesSettled, FreeMinutesGranted, UsageRated
from tests.unit.fakes.allowance import FakeUnitOfWork

JAN, FEB, MAR = (datetime(2026, m, 15, tzinfo=UTC) for m in (1, 2, 3))


class _Open:
    """A barrier already passed (the grants topic read to its end)."""

    async def check(self, _id: object, _positions: object) -> None:
        pass


def _grant(customer: str = "acme", minutes: int = 100, until: datetime = FEB):
    return FreeMinutesGranted(
        grant_id=uuid.uuid4(),
        customer_id=customer,
        did=None,
        assignment_id=uuid.uuid4(),
        package_id="uk-100",
        minutes=minutes,
        destination_prefixes=["44"],
        valid_from=JAN,
        valid_until=until,
    )


def _call(at: datetime, seconds: int, destination: str = "442071234567", customer="acme"):
    return UsageRated(
        usage_id=uuid.uuid4(),
        customer_id=customer,
        amount=Decimal("0.002") * seconds,
        currency="GBP",
        occurred_at=at,
        destination=destination,
        duration_seconds=seconds,
    )


async def _settle(uow: FakeUnitOfWork, at: datetime) -> bool:
    settled = ChargesSettled(tick_id=uuid.uuid4(), at=at)
    return await handlers.settle(uow, settled, _Open(), lambda: None)  # type: ignore[arg-type]


async def test_a_grant_gets_its_first_balance_once() -> None:
    uow = FakeUnitOfWork()
    grant = _grant()
    await handlers.add_grants(uow, [grant])
    await handlers.add_grants(uow, [grant])  # read again: nothing new
    [balance] = uow.events("AllowanceBalance")
    assert (balance["grant_id"], balance["granted_seconds"], balance["status"]) == (
        str(grant.grant_id),
        6000,
        "active",
    )
    assert uow.emitted[0][:2] == (topics.ALLOWANCE_BALANCES, str(grant.grant_id))


def _waiting(usage: list[UsageRated]) -> WaitingCalls:
    waiting = WaitingCalls()
    waiting.start(0, 0)
    for offset, u in enumerate(usage):
        waiting.add(0, offset, handlers.call_of(u))
    return waiting


async def test_calls_wait_for_the_horizon_then_are_covered_in_order() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants(uow, [_grant(minutes=5)])  # 300 seconds
    calls = [
        _call(datetime(2026, 1, 20, tzinfo=UTC), 200),
        _call(datetime(2026, 1, 21, tzinfo=UTC), 200),
    ]
    waiting = _waiting([*calls, _call(JAN, 60).model_copy(update={"destination": None})])
    assert waiting.count == 2  # the record without a destination is not a call
    # Nothing settled yet: nothing to apply before the horizon.
    assert waiting.settled(datetime(2026, 1, 20, tzinfo=UTC), 100, 100) == []
    assert await _settle(uow, datetime(2026, 1, 31, tzinfo=UTC))
    chosen = [w.call for w in waiting.settled(datetime(2026, 1, 31, tzinfo=UTC), 100, 100)]
    assert await handlers.apply_calls(uow, chosen) == (2, 2)
    first, second = uow.events("FreeMinutesUsed")
    assert (first["usage_id"], first["covered_seconds"]) == (str(calls[0].usage_id), 200)
    assert (second["usage_id"], second["covered_seconds"]) == (str(calls[1].usage_id), 100)
    assert uow.events("AllowanceBalance")[-1]["remaining_seconds"] == 0
    assert uow.repository.locked == [["acme"]]


async def test_a_call_applied_before_or_repeated_is_applied_once() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants(uow, [_grant()])
    call = _call(datetime(2026, 1, 20, tzinfo=UTC), 60)
    chosen = [w.call for w in _waiting([call, call]).settled(FEB, 100, 100)]
    assert len(chosen) == 2  # the same usage_id read twice
    assert await handlers.apply_calls(uow, chosen) == (1, 1)
    assert await handlers.apply_calls(uow, chosen[:1]) == (0, 0)  # read again after a restart
    assert len(uow.events("FreeMinutesUsed")) == 1


async def test_a_call_elsewhere_is_applied_without_a_use() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants(uow, [_grant()])
    waiting = _waiting([_call(datetime(2026, 1, 20, tzinfo=UTC), 60, "919812345678")])
    await _settle(uow, datetime(2026, 1, 31, tzinfo=UTC))
    chosen = [w.call for w in waiting.settled(datetime(2026, 1, 31, tzinfo=UTC), 100, 100)]
    assert await handlers.apply_calls(uow, chosen) == (1, 0)
    assert uow.events("FreeMinutesUsed") == []


async def test_a_settle_expires_grants_whose_window_ended_and_never_moves_back() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants(uow, [_grant(until=FEB), _grant(until=MAR)])
    assert await _settle(uow, FEB)  # valid_until <= at: expired
    assert not await _settle(uow, JAN)  # not later: nothing happens
    expired = [b for b in uow.events("AllowanceBalance") if b["status"] == "expired"]
    assert len(expired) == 1 and expired[0]["valid_until"] == "2026-02-15T00:00:00Z"
    late = _grant(until=FEB)
    await handlers.add_grants(uow, [late])  # read after the horizon passed its window
    assert uow.events("AllowanceBalance")[-1]["status"] == "expired"


async def test_parked_calls_are_applied_in_the_order_read_once_settled() -> None:
    """A clock set wrong upstream: acme's second call is dated a year ahead. acme's calls go
    to the parked table; the first is applied at once, the others once the charger settles
    past the far one, in the order read; then acme comes back to memory."""
    uow = FakeUnitOfWork()
    await handlers.add_grants(uow, [_grant(minutes=5, until=datetime(2027, 6, 1, tzinfo=UTC))])
    at = datetime(2026, 1, 31, tzinfo=UTC)
    calls = [
        _call(datetime(2026, 1, 20, tzinfo=UTC), 100),
        _call(datetime(2027, 1, 20, tzinfo=UTC), 100),
        _call(datetime(2026, 1, 21, tzinfo=UTC), 150),
    ]
    waiting = _waiting([])
    waiting.set_horizon(at)
    for offset, u in enumerate(calls):
        waiting.add(0, offset, handlers.call_of(u))
    assert waiting.settled(at, 100, 100) == []
    parking = [w.call for w in waiting.parking(100)]
    done = await handlers.apply_waiting(uow, at, [], parking, True, 100)
    assert (done.calls, done.parked, done.customers_parked) == (1, 3, {"acme"})
    assert [u.usage_id for _, u in uow.repository.parked] == [c.usage_id for c in calls[1:]]
    later = datetime(2027, 2, 1, tzinfo=UTC)
    done = await handlers.apply_waiting(uow, later, [], [], True, 100)
    assert (done.calls, done.customers_back, uow.repository.parked) == (2, {"acme"}, [])
    used = uow.events("FreeMinutesUsed")
    assert [(u["usage_id"], u["covered_seconds"]) for u in used] == [
        (str(calls[0].usage_id), 100),
        (str(calls[1].usage_id), 100),
        (str(calls[2].usage_id), 100),  # the grant's last 100 of 300 seconds
    ]


async def test_a_customer_parked_by_another_instance_has_its_calls_parked_behind() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants(uow, [_grant()])
    far = handlers.call_of(_call(datetime(2027, 1, 20, tzinfo=UTC), 60))
    assert far is not None
    await uow.repository.park([far])  # by the instance that read acme's partition before
    settled = [
        w.call
        for w in _waiting([_call(datetime(2026, 1, 20, tzinfo=UTC), 60)]).settled(FEB, 100, 100)
    ]
    done = await handlers.apply_waiting(uow, FEB, settled, [], False, 100)
    assert (done.calls, done.parked, done.customers_parked) == (0, 1, {"acme"})
    assert uow.events("FreeMinutesUsed") == []
    assert [c.usage_id for _, c in uow.repository.parked] == [far.usage_id, settled[0].usage_id]
