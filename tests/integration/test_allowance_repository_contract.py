"""What the allowance handlers expect of their repository, run against the in-memory fake the
unit tests use and against the PostgreSQL one: which grants are usable for a span of calls,
which expire, and that a call is applied once."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from allowance.adapters.repository import AllowanceRepository
from allowance.bootstrap import MIGRATIONS
from allowance.domain.model import Call, Grant
from allowance.service_layer.ports import Allowances
from pkgshared.db import SHARED_MIGRATIONS, migrate
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


def _grant(customer: str, start_day: int, days: int, seconds: int = 600) -> Grant:
    return Grant(
        grant_id=uuid.uuid4(),
        customer_id=customer,
        did=None,
        assignment_id=uuid.uuid4(),
        destination_prefixes=("44",),
        valid_from=T0 + timedelta(days=start_day),
        valid_until=T0 + timedelta(days=start_day + days),
        granted_seconds=seconds,
    )


def _call(customer: str, day: float) -> Call:
    return Call(
        uuid.uuid4(), customer, None, "4420", T0 + timedelta(days=day), 60, Decimal("0.1"), "GBP"
    )


async def test_usable_grants_meet_the_span_and_have_seconds_left(repository: Allowances) -> None:
    early, late, used_up, other = (
        _grant("a", 0, 10),
        _grant("a", 20, 10),
        _grant("a", 0, 30),
        _grant("b", 0, 30),
    )
    assert len(await repository.add_grants([early, late, used_up, other])) == 4
    assert await repository.add_grants([early]) == []  # a repeat is ignored
    await repository.save_used([dataclasses.replace(used_up, used_seconds=600)])
    found = await repository.usable_grants(["a"], T0 + timedelta(days=5), T0 + timedelta(days=8))
    assert {g.grant_id for g in found["a"]} == {early.grant_id}
    found = await repository.usable_grants(["a"], T0 + timedelta(days=9), T0 + timedelta(days=21))
    assert {g.grant_id for g in found["a"]} == {early.grant_id, late.grant_id}
    found = await repository.usable_grants(["a"], T0 + timedelta(days=10), T0 + timedelta(days=11))
    assert found.get("a", []) == []  # the window is [valid_from, valid_until)


async def test_grants_expire_once_their_window_ended_by_the_horizon(
    repository: Allowances,
) -> None:
    short, long = _grant("a", 0, 10), _grant("a", 0, 40)
    await repository.add_grants([short, long])
    assert await repository.advance_horizon(T0 + timedelta(days=10), uuid.uuid4())
    assert not await repository.advance_horizon(T0 + timedelta(days=9), uuid.uuid4())
    assert await repository.horizon() == T0 + timedelta(days=10)
    expired = await repository.expire(T0 + timedelta(days=10))
    assert [(g.grant_id, g.status) for g in expired] == [(short.grant_id, "expired")]
    assert await repository.expire(T0 + timedelta(days=10)) == []  # once


async def test_a_call_is_applied_once(repository: Allowances) -> None:
    first, second = _call("a", 1), _call("a", 0.5)
    assert await repository.first_applied([first.usage_id]) == {first.usage_id}
    assert await repository.first_applied([first.usage_id, second.usage_id]) == {second.usage_id}
    assert await repository.first_applied([first.usage_id, second.usage_id]) == set()


async def test_parked_calls_come_back_per_customer_up_to_the_first_not_settled(
    repository: Allowances,
) -> None:
    """a: settled, settled, far, settled; b: far, settled; c: settled; d: nothing parked."""
    a = [_call("a", 1), _call("a", 2), _call("a", 400), _call("a", 3)]
    b = [_call("b", 500), _call("b", 1)]
    c = [_call("c", 5)]
    where = {"a": 0, "b": 1, "c": 2}  # the partition each customer's calls are read from
    await repository.park([a[0], b[0], a[1], c[0]], where)
    await repository.park([a[2], b[1], a[3]], where)
    horizon = T0 + timedelta(days=10)
    assert sorted(await repository.parked_settling(horizon, 10, [0, 1, 2])) == ["a", "c"]
    assert len(await repository.parked_settling(horizon, 1, [0, 1, 2])) == 1
    assert await repository.parked_settling(horizon, 10, [2, 3]) == ["c"]  # the partitions held
    due = await repository.parked_settled(["a", "b", "c", "d"], horizon, 10)
    assert [call.usage_id for _, call in due] == [x.usage_id for x in (a[0], a[1], c[0])]
    assert [x for _, x in await repository.parked_settled(["a", "b"], horizon, 1)] == [a[0]]
    assert await repository.parked_among(["a", "b", "c", "d"]) == {"a", "b", "c"}
    await repository.unpark([seq for seq, _ in due])
    assert await repository.parked_among(["a", "b", "c", "d"]) == {"a", "b"}
    assert await repository.parked_settling(horizon, 10, [0, 1, 2]) == []  # a, b: far first
    later = T0 + timedelta(days=600)
    due = await repository.parked_settled(["a", "b"], later, 10)
    # In the order parked, customers interleaved.
    assert [x.usage_id for _, x in due] == [x.usage_id for x in (b[0], a[2], b[1], a[3])]
    assert due[1][1] == a[2]  # read back as parked, field for field
