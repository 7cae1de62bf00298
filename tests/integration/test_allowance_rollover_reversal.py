"""Rollover and reversal against PostgreSQL (docs/contract.md §6): the repository's new
statements held to the in-memory fake the unit tests use, and the calls checkpoint applying a
call, its reversal and the rollover of an expired grant through migration 0008's tables."""

from __future__ import annotations

import base64
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from allowance.adapters.checkpoint import CallsCheckpoint, Limits
from allowance.adapters.repository import AllowanceRepository
from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.adapters.waiting import WaitingCalls
from allowance.bootstrap import MIGRATIONS
from allowance.domain.model import Call, Grant
from allowance.domain.reversal import CoveredBatch, CoveredCall, Reversal, Used
from allowance.domain.rollover import roll_over, rollover_id
from allowance.service_layer import handlers
from allowance.service_layer.ports import Allowances
from pkgcontract.messages import ChargesSettled, FreeMinutesGranted, UsageRated, UsageReversed
from pkgshared.barrier import InputsBarrier
from pkgshared.db import SHARED_MIGRATIONS, migrate
from pkgshared.failures import Tries
from tests.unit.fakes.allowance import FakeAllowances

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["fake", "postgres"])
async def repository(request: Any, pool: Any) -> AsyncIterator[Allowances]:
    if request.param == "fake":
        yield FakeAllowances()
        return
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    async with pool.acquire() as conn, conn.transaction():
        yield AllowanceRepository(conn)


def _grant(customer: str = "a", percent: int = 50, seconds: int = 600) -> Grant:
    return Grant(
        grant_id=uuid.uuid4(),
        customer_id=customer,
        did="441234",
        assignment_id=uuid.uuid4(),
        destination_prefixes=("44", "33"),
        valid_from=T0,
        valid_until=T0 + timedelta(days=30),
        granted_seconds=seconds,
        notify_at_percent=(50, 100),
        rollover_percent=percent,
        rollover_days=10 if percent else None,
    )


async def test_a_grant_rolls_over_once_and_keeps_its_terms(repository: Allowances) -> None:
    g = _grant()
    [added] = await repository.add_grants([g])
    assert (added.rollover_percent, added.rollover_days, added.rolled_over_from) == (50, 10, None)
    await repository.save_used([dataclasses.replace(g, used_seconds=500)])
    await repository.advance_horizon(T0 + timedelta(days=31), uuid.uuid4())
    [expired] = await repository.expire(T0 + timedelta(days=31))
    due = roll_over(expired, T0 + timedelta(days=31))
    assert due is not None and due.carried.granted_seconds == 100  # unused, under the cap
    [made] = await repository.add_rollovers([due])
    assert made.carried.grant_id == rollover_id(g.grant_id)
    assert await repository.add_rollovers([due]) == []  # once
    [source, carried] = await repository.grants_by_id([g.grant_id, rollover_id(g.grant_id)])
    if source.grant_id != g.grant_id:
        source, carried = carried, source
    assert (source.rolled_over_seconds, source.remaining_seconds) == (100, 0)
    assert carried == dataclasses.replace(due.carried)
    assert (carried.rolled_over_from, carried.did, carried.destination_prefixes) == (
        g.grant_id,
        "441234",
        ("44", "33"),
    )
    # The expired grant's carried seconds are not left to a late call; the rollover grant's are.
    found = await repository.usable_grants(["a"], T0, T0 + timedelta(days=35))
    assert [x.grant_id for x in found["a"]] == [carried.grant_id]


async def test_seconds_given_back_are_stored_and_read_again(repository: Allowances) -> None:
    g = _grant(percent=0)
    await repository.add_grants([g])
    await repository.save_used([dataclasses.replace(g, used_seconds=400)])
    back = dataclasses.replace(g, used_seconds=100, returned_seconds=300, peak_used_seconds=400)
    await repository.save_returned([back])
    [read] = await repository.grants_by_id([g.grant_id])
    assert (read.used_seconds, read.returned_seconds, read.peak_used_seconds) == (100, 300, 400)
    [usable] = (await repository.usable_grants(["a"], T0, T0))["a"]
    assert (usable.used_seconds, usable.returned_seconds, usable.high_water) == (100, 300, 400)


async def test_covered_calls_are_recorded_and_reversed_once(repository: Allowances) -> None:
    g1, g2 = uuid.uuid4(), uuid.uuid4()
    first = CoveredCall(
        uuid.uuid4(), "a", None, "GBP", Decimal("0.123456"), (Used(g2, 60), Used(g1, 5))
    )
    second = CoveredCall(uuid.uuid4(), "a", "44", "EUR", Decimal("1"), (Used(g1, 1),), uuid.uuid4())
    batch = CoveredBatch()
    for c in (first, second):
        n = batch.add(
            Call(c.usage_id, c.customer_id, c.did, "4420", T0, 60, Decimal(1), c.currency),
            c.credit,
            c.uses,
        )
        batch.reversal_ids[n] = c.reversal_id
    assert batch.calls() == [first, second]
    await repository.record_covered(batch)
    found = await repository.covered_calls([first.usage_id, second.usage_id, uuid.uuid4()])
    assert found == {first.usage_id: first, second.usage_id: second}
    r1, r2 = uuid.uuid4(), uuid.uuid4()
    await repository.mark_reversed([(first.usage_id, r1)])
    await repository.mark_reversed([(first.usage_id, r2)])  # reversed before: stays r1
    found = await repository.covered_calls([first.usage_id])
    assert found[first.usage_id].reversal_id == r1


async def test_a_reversal_id_is_read_once(repository: Allowances) -> None:
    """docs/contract.md §4 UsageReversed: a repeated reversal_id is ignored (migration 0009)."""
    first, second = uuid.uuid4(), uuid.uuid4()
    assert await repository.first_reversals([first, second, first]) == {first, second}
    assert await repository.first_reversals([second, uuid.UUID(int=7)]) == {uuid.UUID(int=7)}


async def test_a_reversal_is_parked_among_its_customers_calls_in_order(
    repository: Allowances,
) -> None:
    near = Call(uuid.uuid4(), "a", None, "4420", T0, 60, Decimal("0.1"), "GBP")
    far = dataclasses.replace(near, usage_id=uuid.uuid4(), occurred_at=T0 + timedelta(days=400))
    back = Reversal(uuid.uuid4(), near.usage_id, "a")
    await repository.park([near, back, far, Reversal(uuid.uuid4(), far.usage_id, "a")], {"a": 0})
    assert await repository.parked_settling(T0 + timedelta(days=1), 10, [0]) == ["a"]
    due = await repository.parked_settled(["a"], T0 + timedelta(days=1), 10)
    assert [c for _, c in due] == [near, back]  # up to the far call: what follows waits
    due = await repository.parked_settled(["a"], T0 + timedelta(days=401), 10)
    assert [type(c).__name__ for _, c in due] == ["Call", "Reversal", "Call", "Reversal"]


# ------------------------------------------------------------------ through the checkpoint
async def _events(pool: Any, event_type: str) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT e.payload FROM outbox_batches b, "
            "unnest(b.event_types, b.payloads) WITH ORDINALITY AS e(event_type, payload, n) "
            "WHERE e.event_type = $1 ORDER BY b.id, e.n",
            event_type,
        )
    return [json.loads(r["payload"]) for r in rows]


async def _settle(pool: Any, at: datetime) -> None:
    async def nothing() -> dict[int, int]:
        return {}

    async with AllowanceUnitOfWork(pool) as uow:
        deps = handlers.Dependencies(grants_read=InputsBarrier(nothing), usage_ends=nothing)
        await handlers.settle(ChargesSettled(tick_id=uuid.uuid4(), at=at), uow, deps)
        await uow.commit()


async def test_a_call_its_reversal_and_a_rollover_through_the_checkpoint(pool: Any) -> None:
    """Two periods (rollover 50 %, 30 days): a call of 900 s uses January's; the settle at
    2026-02-01 expires January with 300 s unused (the cap is 600): 300 carry. A call then
    uses the rollover grant first; its reversal gives its seconds back; a reversal of the
    first call, read after January expired, loses them; a reversal read twice does nothing
    the second time."""
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    jan, feb = (
        FreeMinutesGranted(
            grant_id=uuid.uuid4(),
            customer_id="a",
            did=None,
            assignment_id=uuid.uuid4(),
            package_id="p",
            minutes=20,
            destination_prefixes=["44"],
            valid_from=T0 + timedelta(days=31 * n),
            valid_until=T0 + timedelta(days=31 * (n + 1)),
            rollover_percent=50,
            rollover_days=30,
        )
        for n in (0, 1)
    )
    async with AllowanceUnitOfWork(pool) as uow:
        await handlers.add_grants([jan, feb], uow)
        await uow.commit()
    waiting = WaitingCalls()
    waiting.start(0, 0)
    checkpoint = CallsCheckpoint(pool, None, lambda _: None, limits=Limits(), waiting=waiting)
    offset = 0

    def read(*messages: UsageRated | UsageReversed) -> None:
        nonlocal offset
        for m in messages:
            waiting.add(0, offset, handlers.to_apply(m))
            offset += 1

    def rated(day: int, seconds: int) -> UsageRated:
        return UsageRated(
            usage_id=uuid.uuid4(),
            customer_id="a",
            amount=Decimal("0.01") * seconds,
            currency="GBP",
            occurred_at=T0 + timedelta(days=day),
            destination="4420",
            duration_seconds=seconds,
        )

    first = rated(2, 900)
    read(first)
    await _settle(pool, T0 + timedelta(days=31))
    assert await checkpoint.drain()
    carried = rollover_id(jan.grant_id)
    balances = await _events(pool, "AllowanceBalance")
    assert [(b["grant_id"], b["status"], b["rolled_over_seconds"]) for b in balances[-2:]] == [
        (str(jan.grant_id), "expired", 300),
        (str(carried), "active", 0),
    ]
    second = rated(33, 500)  # 300 from the rollover grant (earlier end), 200 from February
    undo_second = UsageReversed(reversal_id=uuid.uuid4(), usage_id=second.usage_id, customer_id="a")
    undo_first = UsageReversed(reversal_id=uuid.uuid4(), usage_id=first.usage_id, customer_id="a")
    read(second, undo_second, undo_first, undo_second)
    await _settle(pool, T0 + timedelta(days=40))
    assert await checkpoint.drain()
    used = await _events(pool, "FreeMinutesUsed")
    assert [(g["grant_id"], g["seconds"]) for g in used[-1]["grants"]] == [
        (str(carried), 300),
        (str(feb.grant_id), 200),
    ]
    returned = await _events(pool, "FreeMinutesReturned")
    assert [(r["usage_id"], r["credit"]) for r in returned] == [
        (str(second.usage_id), "5.000000"),
        (str(first.usage_id), "9.000000"),
    ]
    assert [(g["seconds_returned"], g["seconds_lost"]) for g in returned[0]["grants"]] == [
        (300, 0),
        (200, 0),
    ]
    assert [(g["seconds_returned"], g["seconds_lost"]) for g in returned[1]["grants"]] == [(0, 900)]
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT grant_id, used_seconds, returned_seconds, rolled_over_seconds, status "
            "FROM grants ORDER BY valid_from, granted_seconds"
        )
        reversed_by = await conn.fetch("SELECT usage_id, reversal_id FROM covered_calls")
    state = {r["grant_id"]: tuple(r)[1:] for r in rows}
    assert state[jan.grant_id] == (900, 0, 300, "expired")
    assert state[carried] == (0, 300, 0, "active")
    assert state[feb.grant_id] == (0, 200, 0, "active")
    assert {r["usage_id"]: r["reversal_id"] for r in reversed_by} == {
        first.usage_id: undo_first.reversal_id,
        second.usage_id: undo_second.reversal_id,
    }
    last = {b["grant_id"]: b for b in await _events(pool, "AllowanceBalance")}
    assert last[str(carried)]["returned_seconds"] == 300
    assert last[str(carried)]["remaining_seconds"] == 300


async def test_a_reversal_that_fails_on_every_try_is_dead_lettered_and_the_rest_go_on(
    pool: Any,
) -> None:
    """The database refuses seconds given back to `poison`'s grant (a stand-in for a reversal
    that fails for its own sake): its reversal goes to usage.rated.dlq as the UsageReversed
    read, after its tries; the call before it and after it, and `a`'s reversal, are applied."""
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    async with pool.acquire() as conn:
        await conn.execute(
            "ALTER TABLE grants ADD CONSTRAINT poison "
            "CHECK (customer_id <> 'poison' OR returned_seconds = 0)"
        )
    grants = [
        FreeMinutesGranted(
            grant_id=uuid.uuid4(),
            customer_id=customer,
            did=None,
            assignment_id=uuid.uuid4(),
            package_id="p",
            minutes=10,
            destination_prefixes=["44"],
            valid_from=T0,
            valid_until=T0 + timedelta(days=30),
        )
        for customer in ("a", "poison")
    ]
    async with AllowanceUnitOfWork(pool) as uow:
        await handlers.add_grants(grants, uow)
        await uow.commit()

    def rated(customer: str, hours: int) -> UsageRated:
        return UsageRated(
            usage_id=uuid.uuid4(),
            customer_id=customer,
            amount=Decimal("0.6"),
            currency="GBP",
            occurred_at=T0 + timedelta(hours=hours),
            destination="4420",
            duration_seconds=60,
        )

    def undo(c: UsageRated) -> UsageReversed:
        return UsageReversed(
            reversal_id=uuid.uuid4(), usage_id=c.usage_id, customer_id=c.customer_id
        )

    a1, p1, p2 = rated("a", 1), rated("poison", 1), rated("poison", 2)
    records = [a1, p1, undo(p1), undo(a1), p2]
    waiting = WaitingCalls()
    waiting.start(0, 0)
    for offset, m in enumerate(records):
        waiting.add(0, offset, handlers.to_apply(m))
    checkpoint = CallsCheckpoint(
        pool, None, lambda _: None, limits=Limits(), waiting=waiting, tries=Tries(2, 0.01, 0.01)
    )
    await _settle(pool, T0 + timedelta(days=1))
    assert await checkpoint.drain()
    used = [u["usage_id"] for u in await _events(pool, "FreeMinutesUsed")]
    assert sorted(used) == sorted(str(c.usage_id) for c in (a1, p1, p2))
    assert [r["usage_id"] for r in await _events(pool, "FreeMinutesReturned")] == [str(a1.usage_id)]
    [letter] = await _events(pool, "DeadLetter")
    assert (letter["partition"], letter["offset"], letter["key"]) == (0, 2, "poison")
    payload = json.loads(base64.b64decode(letter["payload_base64"]))
    assert (payload["event_type"], payload["usage_id"]) == ("UsageReversed", str(p1.usage_id))
    assert waiting.count == 0
    async with pool.acquire() as conn:
        assert await AllowanceRepository(conn).call_offsets([0]) == {0: 5}
        left = await conn.fetchval(
            "SELECT reversal_id FROM covered_calls WHERE usage_id = $1", p1.usage_id
        )
    assert left is None  # the call stays as it is: replaying the dead letter reverses it
