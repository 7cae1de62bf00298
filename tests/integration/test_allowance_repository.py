"""The allowance's store and calls checkpoint against PostgreSQL: calls wait (in memory) for
the settled horizon, one customer's calls keep their order (a call not yet settled holds back
the later ones), a repeated usage_id is ignored, and grants expire when a ChargesSettled
passes their window while a late call from inside the window still uses them."""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from allowance.adapters.checkpoint import CallsCheckpoint, Limits
from allowance.adapters.repository import AllowanceRepository
from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.adapters.waiting import WaitingCalls
from allowance.bootstrap import MIGRATIONS
from allowance.service_layer import handlers
from pkgcontract.messages import ChargesSettled, FreeMinutesGranted, UsageRated
from pkgshared.barrier import InputsBarrier
from pkgshared.db import SHARED_MIGRATIONS, migrate
from pkgshared.failures import Tries

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _grant(customer: str, minutes: int, days: int = 30) -> FreeMinutesGranted:
    grant_id = uuid.uuid4()
    return FreeMinutesGranted(
        event_id=grant_id,
        grant_id=grant_id,
        customer_id=customer,
        did=None,
        assignment_id=uuid.uuid4(),
        package_id="p",
        minutes=minutes,
        destination_prefixes=["44"],
        valid_from=T0,
        valid_until=T0 + timedelta(days=days),
    )


def _call(
    customer: str, hours: float, seconds: int, usage_id: uuid.UUID | None = None
) -> UsageRated:
    return UsageRated(
        usage_id=usage_id or uuid.uuid4(),
        customer_id=customer,
        amount=Decimal("1.000000"),
        currency="GBP",
        occurred_at=T0 + timedelta(hours=hours),
        destination="442071234567",
        duration_seconds=seconds,
    )


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

    uow = AllowanceUnitOfWork(pool)
    async with uow:
        settled = ChargesSettled(tick_id=uuid.uuid4(), at=at)
        deps = handlers.Dependencies(grants_read=InputsBarrier(nothing), usage_ends=nothing)
        await handlers.settle(settled, uow, deps)
        await uow.commit()


def _checkpoint(
    pool: Any, waiting: WaitingCalls, batch_customers: int = 2000, tries: Tries | None = None
) -> CallsCheckpoint:
    """The calls checkpoint over `waiting`, without Kafka (nothing to seek or pause)."""
    limits = Limits(batch_customers=batch_customers)
    return CallsCheckpoint(pool, None, lambda _: None, limits=limits, waiting=waiting, tries=tries)


class _Read:
    """Calls read from partition 0 of usage.rated, into the checkpoint's waiting calls."""

    def __init__(self) -> None:
        self.waiting = WaitingCalls()
        self.waiting.start(0, 0)
        self.offset = 0

    async def add(
        self, pool: Any, grants: list[FreeMinutesGranted], calls: list[UsageRated]
    ) -> None:
        uow = AllowanceUnitOfWork(pool)
        async with uow:
            await handlers.add_grants(grants, uow)
            await uow.commit()
        for c in calls:
            self.waiting.add(0, self.offset, handlers.call_of(c))
            self.offset += 1


async def test_calls_wait_in_order_for_the_settled_horizon(pool: Any) -> None:
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    read = _Read()
    worker = _checkpoint(pool, read.waiting, batch_customers=1)
    early, late, later_early = _call("a", 1, 60), _call("a", 30, 60), _call("a", 2, 60)
    other = _call("b", 3, 60)
    await read.add(pool, [_grant("a", 10), _grant("b", 10)], [early, late, later_early, other])
    assert not await worker.drain()  # no ChargesSettled yet: everything waits

    await _settle(pool, T0 + timedelta(hours=24))
    assert await worker.drain()
    used = [u["usage_id"] for u in await _events(pool, "FreeMinutesUsed")]
    # a's queue stops at `late` (not settled): `later_early` waits behind it; b is not held.
    assert used == [str(early.usage_id), str(other.usage_id)] or used == [
        str(other.usage_id),
        str(early.usage_id),
    ]

    await read.add(pool, [], [_call("a", 1, 60, usage_id=early.usage_id)])  # a repeat: ignored
    await _settle(pool, T0 + timedelta(hours=48))
    assert await worker.drain()
    used = [u["usage_id"] for u in await _events(pool, "FreeMinutesUsed")]
    assert used[2:] == [str(late.usage_id), str(later_early.usage_id)]
    assert len(used) == 4
    remaining = [
        u["grants"][0]["remaining_seconds"] for u in await _events(pool, "FreeMinutesUsed")
    ]
    assert sorted(remaining) == [420, 480, 540, 540]
    # Every call applied: partition 0 is read again from after its last record.
    async with pool.acquire() as conn:
        assert await AllowanceRepository(conn).call_offsets([0, 1]) == {0: 5, 1: 0}


async def test_a_call_far_ahead_is_parked_and_applied_in_order_after_a_restart(
    pool: Any,
) -> None:
    """A clock set wrong upstream: a's second call is dated a year ahead. It does not hold
    partition 0's resume point nor b's calls; a's calls behind it wait in the parked table,
    through a restart (a new worker with nothing in memory), and are applied in the order
    read once the charger settles past it."""
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    read = _Read()
    worker = _checkpoint(pool, read.waiting)
    await _settle(pool, T0 + timedelta(hours=24))
    calls = [_call("a", 1, 60), _call("a", 24 * 365, 60), _call("a", 2, 60)]
    b = _call("b", 3, 60)
    await read.add(pool, [_grant("a", 10, days=400), _grant("b", 10)], [*calls, b])
    assert await worker.drain()
    used = [u["usage_id"] for u in await _events(pool, "FreeMinutesUsed")]
    assert sorted(used) == sorted([str(calls[0].usage_id), str(b.usage_id)])
    async with pool.acquire() as conn:
        store = AllowanceRepository(conn)
        assert await store.call_offsets([0]) == {0: 4}  # nothing of partition 0 waits here
        assert await store.parked_among(["a", "b"]) == {"a"}
    assert read.waiting.count == 0 and read.waiting.parked == {"a"}

    restarted = _Read()
    restarted.waiting.start(0, 4)
    restarted.offset = 4
    later = _call("a", 3, 60)  # settled, but behind a's parked calls
    await restarted.add(pool, [], [later])
    again = _checkpoint(pool, restarted.waiting)
    await again.drain()
    assert len(await _events(pool, "FreeMinutesUsed")) == 2  # `later` was parked too
    await _settle(pool, T0 + timedelta(days=366))
    assert await again.drain()
    used = [u["usage_id"] for u in await _events(pool, "FreeMinutesUsed")]
    assert used[2:] == [str(c.usage_id) for c in (calls[1], calls[2], later)]
    async with pool.acquire() as conn:
        assert await AllowanceRepository(conn).parked_among(["a"]) == set()
    assert restarted.waiting.parked == set()


async def test_expiry_and_a_late_call_from_inside_the_window(pool: Any) -> None:
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    read = _Read()
    grant = _grant("c", 5, days=10)
    await read.add(pool, [grant], [])
    await _settle(pool, T0 + timedelta(days=10))  # at == valid_until: expired...
    assert len(await _events(pool, "AllowanceBalance")) == 1
    await _checkpoint(pool, read.waiting).drain()  # ...once calls are applied
    balances = await _events(pool, "AllowanceBalance")
    assert [(b["status"], b["used_seconds"]) for b in balances] == [("active", 0), ("expired", 0)]

    await read.add(pool, [], [_call("c", 24, 100), _call("c", 24 * 11, 100)])  # inside, after
    await _settle(pool, T0 + timedelta(days=12))
    await _checkpoint(pool, read.waiting).drain()
    used = await _events(pool, "FreeMinutesUsed")
    assert [(u["covered_seconds"], u["grants"][0]["remaining_seconds"]) for u in used] == [
        (100, 200)
    ]
    last = (await _events(pool, "AllowanceBalance"))[-1]
    assert (last["status"], last["used_seconds"], last["remaining_seconds"]) == (
        "expired",
        100,
        200,
    )
    # a grant read after the horizon passed its window is expired from its first balance
    await read.add(pool, [_grant("d", 1, days=1)], [])
    assert (await _events(pool, "AllowanceBalance"))[-1]["status"] == "expired"


async def test_resume_points_only_move_forward(pool: Any) -> None:
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    async with pool.acquire() as conn:
        store = AllowanceRepository(conn)
        await store.store_call_offsets({0: 10, 2: 4})
        await store.store_call_offsets({0: 7, 2: 9})  # an instance behind: 0 stays at 10
        assert await store.call_offsets([0, 1, 2]) == {0: 10, 1: 0, 2: 9}


async def test_the_upgrade_keeps_applied_calls_and_reads_waiting_ones_again(
    pool: Any, tmp_path: Any
) -> None:
    """Migration 0003 over the table design: the calls applied stay applied (a repeat is
    ignored), and with no resume point stored usage.rated is read again from its start, so
    the calls that were waiting are applied then."""
    before = tmp_path / "before"
    before.mkdir()
    for name in ("0001_allowance.sql", "0002_grants_by_customer.sql"):
        shutil.copy(MIGRATIONS / name, before / name)
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, before)
    applied, waiting = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO calls (usage_id, customer_id, destination, occurred_at, "
            "duration_seconds, amount, currency, applied) VALUES "
            "($1, 'a', '44', now(), 60, 1, 'GBP', true), "
            "($2, 'a', '44', now(), 60, 1, 'GBP', false)",
            applied,
            waiting,
        )
        await conn.execute("INSERT INTO customers (customer_id, waiting_since) VALUES ('a', now())")
    assert (await migrate(pool, MIGRATIONS))[0] == "0003_calls_wait_in_kafka.sql"
    async with pool.acquire() as conn:
        store = AllowanceRepository(conn)
        assert await store.call_offsets([0]) == {0: 0}  # read again from the start
        assert await store.first_applied([applied, waiting]) == {waiting}
        assert await conn.fetchval("SELECT to_regclass('calls')") is None


async def test_a_call_that_fails_on_every_try_is_dead_lettered_and_the_rest_go_on(
    pool: Any,
) -> None:
    """The database refuses any use of the customer `poison`'s grant (a stand-in for a call
    that fails for its own sake): its two covered calls are dead-lettered after their tries,
    its call no grant covers and every call of `a` (before and after) are applied, and the
    partition's resume point moves past all of them."""
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    async with pool.acquire() as conn:
        await conn.execute(
            "ALTER TABLE grants ADD CONSTRAINT poison "
            "CHECK (customer_id <> 'poison' OR used_seconds = 0)"
        )
    read = _Read()
    worker = _checkpoint(pool, read.waiting, tries=Tries(2, 0.01, 0.01))
    uncovered = _call("poison", 2, 60).model_copy(update={"destination": "919812345678"})
    calls = [
        _call("a", 1, 60),
        _call("poison", 1, 60),
        uncovered,
        _call("poison", 3, 60),
        _call("a", 2, 60),
    ]
    await read.add(pool, [_grant("a", 10), _grant("poison", 10)], calls)
    await _settle(pool, T0 + timedelta(hours=24))
    assert await worker.drain()
    used = [u["usage_id"] for u in await _events(pool, "FreeMinutesUsed")]
    assert used == [str(calls[0].usage_id), str(calls[4].usage_id)]
    letters = await _events(pool, "DeadLetter")
    assert [(d["partition"], d["offset"]) for d in letters] == [(0, 1), (0, 3)]
    assert all("poison" in d["error"] and d["key"] == "poison" for d in letters)
    payloads = [json.loads(base64.b64decode(d["payload_base64"])) for d in letters]
    assert [p["usage_id"] for p in payloads] == [str(calls[1].usage_id), str(calls[3].usage_id)]
    assert read.waiting.count == 0
    async with pool.acquire() as conn:
        store = AllowanceRepository(conn)
        assert await store.call_offsets([0]) == {0: 5}
        # Dead-lettered calls count as applied: read again, they are repeats.
        assert await store.first_applied([calls[1].usage_id, calls[3].usage_id]) == set()
