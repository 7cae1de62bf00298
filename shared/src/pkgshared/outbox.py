"""The transactional outbox: events are written in the transaction that causes them, and a relay
publishes them to Kafka afterwards, in order, with an idempotent acks=all producer.

A crash after the commit and before (or during) publishing loses nothing: the rows are still
there at restart and are published then; a row is deleted only after Kafka has acknowledged it,
so at worst an event is published twice with the same event_id. Only one relay per schema
publishes at a time (a PostgreSQL advisory lock), which keeps each key's events in order even
when several instances run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from pkgshared.faults import crash_point
from pkgshared.pacing import pieces
from pkgshared.stuck import WATCH

from . import metrics

if TYPE_CHECKING:
    from pkgshared.db import Connection, Pool


log = structlog.get_logger(__name__)

Record = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]
"""(contract topic, key, value, headers)."""

PublishFn = Callable[[Sequence[Record]], Awaitable[None]]
"""publish(records): returns once the broker has acknowledged every record, each key's records
in the order given (pkgshared.kafka.BatchPublisher)."""


def outbox_row(
    topic: str, key: str | bytes | None, event_type: str, payload: bytes
) -> tuple[Any, ...]:
    """(topic, key, event type, payload): one event of a unit of work."""
    raw_key = key.encode() if isinstance(key, str) else key
    return (topic, raw_key, event_type, payload)


OUTBOX_ROW_EVENTS = 10_000
"""Most events in one outbox row: a larger unit of work (a RunPackage of years) is written as
several rows, in order, so that neither writing nor relaying one holds the event loop long."""


async def enqueue(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Write a unit of work's events (`outbox_row`s, in order) on `conn`, inside the caller's
    transaction: one row for up to OUTBOX_ROW_EVENTS of them (one for most units of work)."""
    async for piece in pieces(rows, OUTBOX_ROW_EVENTS):
        topics, keys, event_types, payloads = (list(c) for c in zip(*piece, strict=True))
        await conn.execute(
            "INSERT INTO outbox_batches (n, topics, keys, event_types, payloads) "
            "VALUES ($1, $2, $3, $4, $5)",
            len(piece),
            topics,
            keys,
            event_types,
            payloads,
        )


class OutboxRelay:
    def __init__(
        self,
        pool: Pool,
        publish: PublishFn,
        *,
        batch_size: int = 1000,
        poll_seconds: float = 0.5,
        backlog_every_seconds: float = 10.0,
    ) -> None:
        self._pool = pool
        self._after_all_before: set[str] = set()
        self._backlog_every = backlog_every_seconds
        self._backlog_counted_at = -backlog_every_seconds
        self._publish = publish
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    def publish_after_all_before(self, topic: str) -> None:
        """Mark `topic` as one whose records say that what came before them is on Kafka (the
        charger's ChargesSettled): each is published only once every record before it is
        acknowledged, so a reader who sees it and then reads the other topics to their end
        finds all of those."""
        self._after_all_before.add(topic)

    def wake(self) -> None:
        """Tell the relay that new rows were committed (saves waiting for the next poll)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                async with self._pool.acquire() as conn:
                    schema = await conn.fetchval("SELECT current_schema()")
                    lock = _lock_key(f"outbox:{schema}")
                    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock):
                        await self._sleep()
                        continue
                    try:
                        await self._relay(conn)
                    finally:
                        await conn.execute("SELECT pg_advisory_unlock($1)", lock)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Nothing is lost: the rows stay until Kafka has them (a DeadLetter too).
                metrics.OUTBOX_FAILURES.inc()
                WATCH.failed("outbox relay", f"{type(exc).__name__}: {exc}")
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)

    async def _relay(self, conn: Connection) -> None:
        while not self._stopping:
            self._wake.clear()
            published = await self.publish_batch(conn)
            WATCH.succeeded("outbox relay")
            if published < self._batch_size:
                await self._count_backlog(conn)
                await self._sleep()

    async def _count_backlog(self, conn: Connection) -> None:
        # Counting walks the whole table, dead rows included: counted on every wake-up it was
        # the largest cost in PostgreSQL under sustained load (more as dead rows piled up
        # between autovacuums), so the gauge is refreshed every few seconds.
        now = time.monotonic()
        if now - self._backlog_counted_at >= self._backlog_every:
            self._backlog_counted_at = now
            metrics.OUTBOX_BACKLOG.set(
                await conn.fetchval("SELECT coalesce(sum(n), 0) FROM outbox_batches")
            )

    async def publish_batch(self, conn: Connection) -> int:
        """Publish the oldest units of work, about `batch_size` events (at least one unit);
        return the number of events published."""
        rows = await conn.fetch(
            "SELECT b.id, b.topics, b.keys, b.event_types, b.payloads FROM ("
            "  SELECT id, sum(n) OVER (ORDER BY id) - n AS before FROM outbox_batches"
            "  ORDER BY id LIMIT $1) AS head "
            "JOIN outbox_batches b USING (id) "
            "WHERE head.before < $1 ORDER BY b.id",
            self._batch_size,
        )
        if not rows:
            return 0
        headers = _Headers()  # one list per event type: the producer only reads them
        records: list[Record] = [
            (topic, key, payload, headers[event_type])
            for r in rows
            for topic, key, event_type, payload in zip(
                r["topics"], r["keys"], r["event_types"], r["payloads"], strict=True
            )
        ]
        for segment in _segments(records, self._after_all_before):
            await self._publish(segment)
        crash_point("outbox_published")  # Kafka has the batch; the rows are still here
        # Exactly these ids: a row with a smaller id may commit later (ids are taken before commit).
        await conn.execute(
            "DELETE FROM outbox_batches WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
        )
        metrics.OUTBOX_PUBLISHED.inc(len(records))
        log.debug("outbox batch published", events=len(records), units=len(rows))
        return len(records)

    async def _sleep(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)


class _Headers(dict[str, list[tuple[str, bytes]]]):
    """A record's headers by its event type, made once per type."""

    def __missing__(self, event_type: str) -> list[tuple[str, bytes]]:
        made = self[event_type] = [("event_type", event_type.encode())]
        return made


def _segments(records: list[Record], alone: set[str]) -> list[list[Record]]:
    """`records` in order, cut so that each record of an `alone` topic is a segment of its own
    (published once all before it are acknowledged)."""
    out: list[list[Record]] = []
    current: list[Record] = []
    for record in records:
        if record[0] in alone:
            if current:
                out.append(current)
                current = []
            out.append([record])
        else:
            current.append(record)
    if current:
        out.append(current)
    return out


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
