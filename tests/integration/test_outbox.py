"""The outbox against a real PostgreSQL: one row per unit of work (a large one in rows of
a bounded size), published in commit order in
batches of about `batch_size` events, deleted only once the publisher returned; and the
per-event rows of the first version carried over by the migration."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pkgcontract.messages import ClockTicked
from pkgshared import outbox
from pkgshared.db import SHARED_MIGRATIONS, migrate
from pkgshared.outbox import OutboxRelay, Record, enqueue, outbox_row


def tick(n: int) -> ClockTicked:
    return ClockTicked(
        tick_id=uuid.uuid4(), at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
    )


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[Record]] = []
        self.fail = False

    async def __call__(self, records: Sequence[Record]) -> None:
        if self.fail:
            raise ConnectionError("broker away")
        self.calls.append(list(records))


async def write_unit(pool: Any, rows: list[tuple[Any, ...]]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, rows)


async def left(pool: Any) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval("SELECT coalesce(sum(n), 0) FROM outbox_batches"))


async def test_units_are_published_in_order_in_batches_and_deleted_after(pool: Any) -> None:
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    sizes = [1, 700, 500, 3]
    sent: list[bytes] = []
    for unit, size in enumerate(sizes):
        rows = [
            outbox_row(
                "clock.ticks", None if i % 2 else f"k{unit}", "ClockTicked", tick(i).to_json()
            )
            for i in range(size)
        ]
        sent += [r[3] for r in rows]
        await write_unit(pool, rows)
    async with pool.acquire() as conn, conn.transaction():
        await enqueue(conn, [])  # nothing to publish: no row
    assert await left(pool) == sum(sizes)

    publish = Recorder()
    relay = OutboxRelay(pool, publish, batch_size=500)
    async with pool.acquire() as conn:
        publish.fail = True
        with pytest.raises(ConnectionError):
            await relay.publish_batch(conn)
        assert await left(pool) == sum(sizes)  # nothing lost when the broker fails
        publish.fail = False
        published = [await relay.publish_batch(conn) for _ in range(4)]

    # Whole units, until at least 500 events: [1 + 700], [500], [3], then nothing.
    assert published == [701, 500, 3, 0]
    assert [len(c) for c in publish.calls] == [701, 500, 3]
    records = [r for call in publish.calls for r in call]
    assert [r[2] for r in records] == sent
    assert records[0][:2] == ("clock.ticks", b"k0")
    assert records[2][:2] == ("clock.ticks", None)
    assert records[0][3] == [("event_type", b"ClockTicked")]
    assert await left(pool) == 0


async def test_a_large_unit_is_written_as_rows_of_a_bounded_size_and_relayed_in_order(
    pool: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit of work of more than OUTBOX_ROW_EVENTS events (a RunPackage of years) becomes
    several rows, so that writing and relaying it never holds the event loop for long; its
    events still go out in order."""
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    monkeypatch.setattr(outbox, "OUTBOX_ROW_EVENTS", 4)
    rows = [outbox_row("clock.ticks", "k", "ClockTicked", tick(i).to_json()) for i in range(10)]
    await write_unit(pool, rows)
    async with pool.acquire() as conn:
        sizes = [r["n"] for r in await conn.fetch("SELECT n FROM outbox_batches ORDER BY id")]
        assert sizes == [4, 4, 2]
        publish = Recorder()
        relay = OutboxRelay(pool, publish, batch_size=5)
        assert [await relay.publish_batch(conn) for _ in range(3)] == [8, 2, 0]
    assert [r[2] for call in publish.calls for r in call] == [r[3] for r in rows]
    assert await left(pool) == 0


async def test_the_migration_carries_per_event_rows_over_in_order(
    pool: Any, tmp_path: Path
) -> None:
    first = tmp_path / "first"
    first.mkdir()
    for name in ("0001_outbox.sql", "0002_kafka_cluster.sql"):
        shutil.copy(SHARED_MIGRATIONS / name, first / name)
    await migrate(pool, first, "shared")
    events = [tick(i) for i in range(3)]
    async with pool.acquire() as conn:
        for i, e in enumerate(events):
            await conn.execute(
                "INSERT INTO outbox (topic, key, event_id, event_type, payload) "
                "VALUES ($1, $2, $3, $4, $5)",
                "clock.ticks",
                None if i == 1 else b"clock",
                e.event_id,
                e.TYPE,
                e.to_json(),
            )
    applied = await migrate(pool, SHARED_MIGRATIONS, "shared")
    assert applied[0] == "shared:0003_outbox_batches.sql"

    publish = Recorder()
    async with pool.acquire() as conn:
        assert await OutboxRelay(pool, publish).publish_batch(conn) == 3
    assert publish.calls == [
        [
            (
                "clock.ticks",
                None if i == 1 else b"clock",
                e.to_json(),
                [("event_type", b"ClockTicked")],
            )
            for i, e in enumerate(events)
        ]
    ]


async def test_a_topic_the_service_marks_is_published_after_all_before_it(pool: Any) -> None:
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    rows = [
        outbox_row(topic, "k", "ClockTicked", tick(i).to_json())
        for i, topic in enumerate(["a", "a", "progress", "b", "progress"])
    ]
    await write_unit(pool, rows)
    publish = Recorder()
    relay = OutboxRelay(pool, publish)
    relay.publish_after_all_before("progress")
    async with pool.acquire() as conn:
        assert await relay.publish_batch(conn) == 5
    assert [[r[0] for r in call] for call in publish.calls] == [
        ["a", "a"],
        ["progress"],
        ["b"],
        ["progress"],
    ]
    await write_unit(pool, rows)
    unmarked = Recorder()
    async with pool.acquire() as conn:
        assert await OutboxRelay(pool, unmarked).publish_batch(conn) == 5
    assert len(unmarked.calls) == 1  # no service marked a topic: one batch
