"""The unit of work every service's handlers go through: one PostgreSQL transaction holding the
state change, the record that the message was handled, and the events it causes (outbox).
Nothing is kept unless `commit()` is called."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self, overload
from uuid import UUID

from pkgcontract.messages import Message

from .outbox import enqueue, outbox_row

if TYPE_CHECKING:
    from asyncpg import Record
    from asyncpg.pool import PoolConnectionProxy

    from pkgshared.db import Connection, Pool

Encoder = Callable[[Any], tuple[str, bytes]]
"""Turns one of a service's domain events into (event_type, the contract's JSON bytes)."""


def encoded(event: object, encoders: Mapping[type, Encoder]) -> tuple[str, bytes]:
    """(event_type, bytes) of `event`: a contract message writes itself; a domain event goes
    through the encoder its service registered for its type."""
    encoder = encoders.get(type(event))
    if encoder is not None:
        return encoder(event)
    if isinstance(event, Message):
        return event.TYPE, event.to_json()
    raise TypeError(f"no encoder for {type(event).__name__}")


Route = Callable[[Any], tuple[str, str]]
"""(topic, key) of one of a service's outgoing events."""

_ROUTED: Any = object()


class PostgresUnitOfWork:
    encoders: ClassVar[Mapping[type, Encoder]] = {}
    """A service's encoders of its domain events (see `encoded`); bytes are made here, at the
    edge, and never in the handlers."""
    routes: ClassVar[Mapping[type, Route]] = {}
    """The topic and key of each event type a service's handlers emit (`emit(event)`)."""

    def __init__(self, pool: Pool, on_commit: Any = None) -> None:
        self._pool = pool
        self._on_commit = on_commit
        self.conn: PoolConnectionProxy[Record]  # set by __aenter__, for one transaction
        self._tx: Any = None
        self._events: list[tuple[Any, ...]] = []
        self.outcomes: Counter[str] = Counter()

    def note(self, outcome: str) -> None:
        """Count one message of this unit of work as `rejected` (a rule broken, a reused id)
        or `ignored` (a redelivery, a tick not later than the clock) rather than handled."""
        self.outcomes[outcome] += 1

    async def __aenter__(self) -> Self:
        self.conn = await self._pool.acquire()
        self._tx = self.conn.transaction()
        await self._tx.start()
        self._events = []
        self.outcomes = Counter()
        self.open(self.conn)
        return self

    def open(self, conn: Connection) -> None:
        """Subclasses build their repositories on `conn` here."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tx is not None:
                await self._tx.rollback()
        finally:
            self._tx = None
            await self._pool.release(self.conn)
            del self.conn

    async def lock_read_offsets(self, topic: str, partitions: set[int]) -> dict[int, int]:
        """How far this schema has read `topic`'s `partitions`, locked until commit: two
        consumers handed the same partition (a rebalance) take turns, and the second finds
        the first's records read."""
        wanted = sorted(partitions)
        await self.conn.execute(
            "INSERT INTO read_offsets (topic, partition, next_offset) "
            "SELECT $1, p, 0 FROM unnest($2::int[]) AS p ON CONFLICT DO NOTHING",
            topic,
            wanted,
        )
        rows = await self.conn.fetch(
            "SELECT partition, next_offset FROM read_offsets "
            "WHERE topic = $1 AND partition = ANY($2::int[]) ORDER BY partition FOR UPDATE",
            topic,
            wanted,
        )
        return {r["partition"]: r["next_offset"] for r in rows}

    async def advance_read_offsets(self, topic: str, next_offsets: dict[int, int]) -> None:
        parts = list(next_offsets)
        await self.conn.execute(
            "UPDATE read_offsets r SET next_offset = GREATEST(r.next_offset, p.next) "
            "FROM unnest($2::int[], $3::bigint[]) AS p(partition, next) "
            "WHERE r.topic = $1 AND r.partition = p.partition",
            topic,
            parts,
            [next_offsets[p] for p in parts],
        )

    async def read_positions(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        """How far this schema has read each of `topics`, by (topic, partition)."""
        rows = await self.conn.fetch(
            "SELECT topic, partition, next_offset FROM read_offsets WHERE topic = ANY($1)",
            list(topics),
        )
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    async def processed_digests(self, message_ids: list[UUID]) -> dict[UUID, bytes | None]:
        """The body digest of each of `message_ids` already handled (None: handled before
        digests were kept)."""
        rows = await self.conn.fetch(
            "SELECT message_id, body_sha256 FROM processed_messages "
            "WHERE message_id = ANY($1::uuid[])",
            message_ids,
        )
        return {r["message_id"]: r["body_sha256"] for r in rows}

    async def record_processed(self, topic: str, handled: list[tuple[UUID, bytes]]) -> None:
        if handled:
            ids, digests = (list(c) for c in zip(*handled, strict=True))
            await self.conn.execute(
                "INSERT INTO processed_messages (message_id, topic, body_sha256) "
                "SELECT i, $1, d FROM unnest($2::uuid[], $3::bytea[]) AS p(i, d) "
                "ON CONFLICT DO NOTHING",
                topic,
                ids,
                digests,
            )

    async def first_time(self, message_id: UUID, topic: str) -> bool:
        """Record `message_id` as handled; False when it already was (a redelivery)."""
        row = await self.conn.fetchval(
            "INSERT INTO processed_messages (message_id, topic) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            message_id,
            topic,
        )
        return row is not None

    @overload
    def emit(self, event: object, /) -> None: ...

    @overload
    def emit(self, topic: str, key: str | bytes | None, event: object) -> None: ...

    def emit(self, topic: Any, key: Any = _ROUTED, event: Any = _ROUTED) -> None:
        """Publish `event` (a contract message, or a domain event of `encoders`) once this
        unit of work commits. `emit(event)`: a service's handlers, to the topic and key of
        `routes`; `emit(topic, key, event)`: the chassis (rejections, dead letters)."""
        if key is _ROUTED:
            event = topic
            topic, key = self.routes[type(event)](event)
        event_type, payload = encoded(event, self.encoders)
        self._events.append(outbox_row(topic, key, event_type, payload))

    async def flush(self) -> None:
        """Write what repositories hold back until the end of the unit of work."""

    async def commit(self) -> None:
        await self.flush()
        await enqueue(self.conn, self._events)
        await self._tx.commit()
        self._tx = None
        self._events = []
        if self._on_commit is not None:
            self._on_commit()
