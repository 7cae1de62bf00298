"""The allowance service's handlers with in-memory fakes (docs/contract.md §6): grants read,
calls waiting, the horizon moved by ChargesSettled, settled calls applied in order and once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from allowance.adapters.waiting import WaitingCalls
from allowance.service_layer import handlers
from pkgcontract import topics
from pkgcontract.messages import ChargesSettled, FreeMinutesGranted, UsageRated, natural_event_id
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


async def _no_usage() -> dict[int, int]:
    return {}


async def _settle(uow: FakeUnitOfWork, at: datetime) -> bool:
    """A ChargesSettled read with usage.rated empty: its grants expire at once."""
    settled = ChargesSettled(tick_id=uuid.uuid4(), at=at)
    deps = handlers.Dependencies(grants_read=_Open(), usage_ends=_no_usage)  # type: ignore[arg-type]
    moved = await handlers.settle(settled, uow, deps)
    await handlers.expire_if_ready({}, uow)
    return moved


async def test_a_grant_gets_its_first_balance_once() -> None:
    uow = FakeUnitOfWork()
    grant = _grant()
    await handlers.add_grants([grant], uow)
    await handlers.add_grants([grant], uow)  # read again: nothing new
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
    await handlers.add_grants([_grant(minutes=5)], uow)  # 300 seconds
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
    assert await handlers.apply_calls(chosen, uow) == (2, 2)
    first, second = uow.events("FreeMinutesUsed")
    assert (first["usage_id"], first["covered_seconds"]) == (str(calls[0].usage_id), 200)
    assert (second["usage_id"], second["covered_seconds"]) == (str(calls[1].usage_id), 100)
    assert uow.events("AllowanceBalance")[-1]["remaining_seconds"] == 0


async def test_the_calls_of_one_batch_give_one_balance_per_grant_with_their_end_state() -> None:
    """docs/contract.md §6: calls applied together give one AllowanceBalance per grant used, its
    state after them (here after both calls); applied apart, one each."""
    together, apart = FakeUnitOfWork(), FakeUnitOfWork()
    grants = [_grant(minutes=5), _grant(customer="other", minutes=5)]
    calls = [
        handlers.call_of(_call(datetime(2026, 1, 20, tzinfo=UTC), 100)),
        handlers.call_of(_call(datetime(2026, 1, 20, tzinfo=UTC), 60, customer="other")),
        handlers.call_of(_call(datetime(2026, 1, 21, tzinfo=UTC), 150)),
    ]
    for uow in (together, apart):
        await handlers.add_grants(grants, uow)
    assert await handlers.apply_calls(calls, together) == (3, 3)  # type: ignore[arg-type]
    for call in calls:
        await handlers.apply_calls([call], apart)  # type: ignore[list-item]

    def balances(uow: FakeUnitOfWork) -> list[tuple[str, int]]:
        return [(b["customer_id"], b["used_seconds"]) for b in uow.events("AllowanceBalance")]

    assert balances(together) == [("acme", 0), ("other", 0), ("acme", 250), ("other", 60)]
    assert balances(apart) == [
        ("acme", 0),
        ("other", 0),
        ("acme", 100),
        ("other", 60),
        ("acme", 250),
    ]
    assert together.events("FreeMinutesUsed") == apart.events("FreeMinutesUsed")


async def test_a_call_applied_before_or_repeated_is_applied_once() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants([_grant()], uow)
    call = _call(datetime(2026, 1, 20, tzinfo=UTC), 60)
    chosen = [w.call for w in _waiting([call, call]).settled(FEB, 100, 100)]
    assert len(chosen) == 2  # the same usage_id read twice
    assert await handlers.apply_calls(chosen, uow) == (1, 1)
    assert await handlers.apply_calls(chosen[:1], uow) == (0, 0)  # read again after a restart
    assert len(uow.events("FreeMinutesUsed")) == 1


async def test_a_call_elsewhere_is_applied_without_a_use() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants([_grant()], uow)
    waiting = _waiting([_call(datetime(2026, 1, 20, tzinfo=UTC), 60, "919812345678")])
    await _settle(uow, datetime(2026, 1, 31, tzinfo=UTC))
    chosen = [w.call for w in waiting.settled(datetime(2026, 1, 31, tzinfo=UTC), 100, 100)]
    assert await handlers.apply_calls(chosen, uow) == (1, 0)
    assert uow.events("FreeMinutesUsed") == []


async def test_a_settle_expires_grants_whose_window_ended_and_never_moves_back() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants([_grant(until=FEB), _grant(until=MAR)], uow)
    assert await _settle(uow, FEB)  # valid_until <= at: expired
    assert not await _settle(uow, JAN)  # not later: nothing happens
    expired = [b for b in uow.events("AllowanceBalance") if b["status"] == "expired"]
    assert len(expired) == 1 and expired[0]["valid_until"] == "2026-02-15T00:00:00Z"
    late = _grant(until=FEB)
    await handlers.add_grants([late], uow)  # read after the horizon passed its window
    assert uow.events("AllowanceBalance")[-1]["status"] == "expired"


async def test_parked_calls_are_applied_in_the_order_read_once_settled() -> None:
    """A clock set wrong upstream: acme's second call is dated a year ahead. acme's calls go
    to the parked table; the first is applied at once, the others once the charger settles
    past the far one, in the order read; then acme comes back to memory."""
    uow = FakeUnitOfWork()
    await handlers.add_grants([_grant(minutes=5, until=datetime(2027, 6, 1, tzinfo=UTC))], uow)
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
    done = await handlers.apply_waiting(
        handlers.CallsToApply(at, [], parking, {"acme": 0}, [0], True, 100), uow
    )
    assert (done.calls, done.parked, done.customers_parked) == (1, 3, {"acme"})
    assert [u.usage_id for _, u in uow.repository.parked] == [c.usage_id for c in calls[1:]]
    later = datetime(2027, 2, 1, tzinfo=UTC)
    done = await handlers.apply_waiting(
        handlers.CallsToApply(later, [], [], {}, [0], True, 100), uow
    )
    assert (done.calls, done.customers_back, uow.repository.parked) == (2, {"acme"}, [])
    used = uow.events("FreeMinutesUsed")
    assert [(u["usage_id"], u["covered_seconds"]) for u in used] == [
        (str(calls[0].usage_id), 100),
        (str(calls[1].usage_id), 100),
        (str(calls[2].usage_id), 100),  # the grant's last 100 of 300 seconds
    ]


async def test_a_customer_parked_by_another_instance_has_its_calls_parked_behind() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants([_grant()], uow)
    far = handlers.call_of(_call(datetime(2027, 1, 20, tzinfo=UTC), 60))
    assert far is not None
    # Parked by the instance that read acme's partition before a rebalance.
    await uow.repository.park([far], {"acme": 0})
    settled = [
        w.call
        for w in _waiting([_call(datetime(2026, 1, 20, tzinfo=UTC), 60)]).settled(FEB, 100, 100)
    ]
    done = await handlers.apply_waiting(
        handlers.CallsToApply(FEB, settled, [], {"acme": 0}, [0], False, 100), uow
    )
    assert (done.calls, done.parked, done.customers_parked) == (0, 1, {"acme"})
    assert uow.events("FreeMinutesUsed") == []
    assert [c.usage_id for _, c in uow.repository.parked] == [far.usage_id, settled[0].usage_id]


class _Applier:
    """The calls checkpoint's loop in small (what adapters/checkpoint.py does with PostgreSQL):
    settled calls held in memory applied in the order read, then the pending expiry once
    partition 0 is read to its end as of the ChargesSettled."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.waiting = WaitingCalls()
        self.waiting.start(0, 0)
        self.offset = 0

    def read(self, *usage: UsageRated) -> None:
        for u in usage:
            self.waiting.add(0, self.offset, handlers.call_of(u))
            self.offset += 1

    async def settle(self, at: datetime, end: int | None = None) -> None:
        async def ends() -> dict[int, int]:
            # usage.rated's end as the ChargesSettled is read (`end`: records written to it
            # and not read yet)
            return {0: self.offset if end is None else end}

        settled = ChargesSettled(tick_id=uuid.uuid4(), at=at)
        deps = handlers.Dependencies(grants_read=_Open(), usage_ends=ends)  # type: ignore[arg-type]
        await handlers.settle(settled, self.uow, deps)

    async def drain(self) -> None:
        horizon = self.uow.repository.settled_at
        assert horizon is not None
        self.waiting.set_horizon(horizon)
        chosen = self.waiting.settled(horizon, 10_000, 10_000)
        await handlers.apply_calls([w.call for w in chosen], self.uow)
        self.waiting.remove(chosen)
        pending = await self.uow.repository.expiry()
        if pending is not None:
            at, ends = pending
            ready = {0: at} if self.waiting.read_to(0, ends[0], at) else {}
            await handlers.expire_if_ready(ready, self.uow)


async def test_the_worked_example_balances_come_before_the_expiry_and_thresholds_after_use() -> (
    None
):
    """docs/contract.md §6 worked example: three calls wait; the tick's ChargesSettled passes the
    January grant's window; the calls are applied first, then the grant expires: balances 0
    active, 12,000 active (the two calls of one batch give one balance with their end state,
    as §6 allows; applied apart they give 300 active too), 12,000 expired. With
    notify_at_percent [80, 100] the third call reaches both, 80 then 100, after its
    FreeMinutesUsed."""
    uow = FakeUnitOfWork()
    january = _grant(minutes=200, until=datetime(2026, 2, 15, tzinfo=UTC)).model_copy(
        update={"notify_at_percent": [80, 100]}
    )
    applier = _Applier(uow)
    applier.read(
        _call(datetime(2026, 1, 20, tzinfo=UTC), 300),
        _call(datetime(2026, 1, 20, 1, tzinfo=UTC), 120, "919812345678"),
        _call(datetime(2026, 2, 14, tzinfo=UTC), 12_000),
    )
    await handlers.add_grants([january], uow)
    await applier.settle(datetime(2026, 3, 20, tzinfo=UTC))
    assert [b["status"] for b in uow.events("AllowanceBalance")] == ["active"]  # not yet
    await applier.drain()
    balances = [(b["used_seconds"], b["status"]) for b in uow.events("AllowanceBalance")]
    assert balances == [(0, "active"), (12_000, "active"), (12_000, "expired")]
    assert uow.repository.held == [[0]]  # the expiry held every partition of usage.rated
    order = [t for _, _, t, _ in uow.emitted if t != "AllowanceBalance"]
    assert order == ["FreeMinutesUsed", "FreeMinutesUsed", *["AllowanceThresholdReached"] * 2]
    alerts = uow.events("AllowanceThresholdReached")
    assert [(a["percent"], a["used_seconds"], a["remaining_seconds"]) for a in alerts] == [
        (80, 12_000, 0),
        (100, 12_000, 0),
    ]
    assert alerts[0]["event_id"] == str(natural_event_id(f"threshold:{january.grant_id}:80"))
    used = uow.events("FreeMinutesUsed")
    assert alerts[0]["usage_id"] == used[1]["usage_id"]


async def test_the_expiry_waits_for_usage_read_to_its_end_as_of_the_settle() -> None:
    uow = FakeUnitOfWork()
    await handlers.add_grants([_grant(minutes=10, until=FEB)], uow)
    applier = _Applier(uow)
    await applier.settle(MAR, end=1)  # a call written before the ChargesSettled, not read yet
    await applier.drain()
    assert [b["status"] for b in uow.events("AllowanceBalance")] == ["active"]
    applier.read(_call(datetime(2026, 1, 20, tzinfo=UTC), 60))  # now it is
    await applier.drain()
    balances = [(b["used_seconds"], b["status"]) for b in uow.events("AllowanceBalance")]
    assert balances == [(0, "active"), (60, "active"), (60, "expired")]


CALLS = st.lists(
    st.tuples(
        st.integers(0, 40),  # the call's day in January and February
        st.integers(0, 900),  # seconds
        st.booleans(),  # a ChargesSettled right after it
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(calls=CALLS, percents=st.sets(st.integers(1, 100), min_size=1, max_size=5))
def test_no_grant_expires_before_a_call_its_settle_settles_and_each_threshold_once(
    calls: list[tuple[int, int, bool]], percents: set[int]
) -> None:
    async def run() -> None:
        uow = FakeUnitOfWork()
        grants = [
            _grant(minutes=20, until=datetime(2026, 1, 16, tzinfo=UTC)).model_copy(
                update={"notify_at_percent": sorted(percents)}
            ),
            _grant(minutes=30, until=datetime(2026, 2, 20, tzinfo=UTC)).model_copy(
                update={"notify_at_percent": sorted(percents)}
            ),
        ]
        await handlers.add_grants(grants, uow)
        applier = _Applier(uow)
        read_before: dict[str, datetime] = {}  # usage_id -> the first settle after it was read
        expired_by: dict[str, datetime] = {}  # grant_id -> the settle that expired it
        day = 0
        pending: list[UsageRated] = []
        for offset_day, seconds, settle in calls:
            day = max(day, offset_day)
            u = _call(JAN + timedelta(days=offset_day, hours=1), seconds)
            applier.read(u)
            pending.append(u)
            if settle:
                at = JAN + timedelta(days=day + 1)
                if uow.repository.settled_at is None or at > uow.repository.settled_at:
                    for p in pending:
                        read_before[str(p.usage_id)] = at
                    pending = []
                    await applier.settle(at)
                    before = len(uow.emitted)
                    await applier.drain()
                    for _, _, t, raw in uow.emitted[before:]:
                        body = json.loads(raw)
                        if t == "AllowanceBalance" and body["status"] == "expired":
                            expired_by.setdefault(body["grant_id"], at)
        # Calls before expiry: a grant's expired balance comes after the FreeMinutesUsed of
        # every call read before the ChargesSettled that expired it (all of them settled by
        # it here: each settle's moment is after every call read so far).
        events = [(t, json.loads(p)) for _, _, t, p in uow.emitted]
        used_at = {b["usage_id"]: n for n, (t, b) in enumerate(events) if t == "FreeMinutesUsed"}
        for n, (t, b) in enumerate(events):
            if t != "AllowanceBalance" or b["status"] != "expired":
                continue
            expiring = expired_by[b["grant_id"]]
            for usage_id, settle_at in read_before.items():
                if settle_at <= expiring and usage_id in used_at:
                    assert used_at[usage_id] < n, (usage_id, b)
        # Thresholds: each percent once per grant, in increasing order, only when reached.
        alerts = uow.events("AllowanceThresholdReached")
        seen = [(a["grant_id"], a["percent"]) for a in alerts]
        assert len(seen) == len(set(seen))
        for a in alerts:
            assert a["used_seconds"] * 100 >= a["granted_seconds"] * a["percent"]
        for g in grants:
            mine = [a["percent"] for a in alerts if a["grant_id"] == str(g.grant_id)]
            assert mine == sorted(mine)
            final = uow.repository.grants[g.grant_id].used_seconds
            granted = g.minutes * 60
            assert mine == [p for p in sorted(percents) if final * 100 >= granted * p]

    asyncio.run(run())
