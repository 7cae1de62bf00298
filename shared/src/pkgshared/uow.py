"""The unit of work every service's handlers go through: one PostgreSQL transaction holding the
state change, the record that the message was handled, and the events it causes (outbox).
Nothing is kept unless `commit()` is called."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import structlog

from pkgshared.faults import crash_point
from pkgshared.messages import Message
from pkgshared.rules import RuleBroken

from .outbox import enqueue, outbox_row

log = structlog.get_logger(__name__)


class PostgresUnitOfWork:
    def __init__(self, pool: Any, on_commit: Any = None) -> None:
        self._pool = pool
        self._on_commit = on_commit
        self.conn: Any = None
        self._tx: Any = None
        self._events: list[tuple[Any, ...]] = []

    async def __aenter__(self) -> Self:
        self.conn = await self._pool.acquire()
        self._tx = self.conn.transaction()
        await self._tx.start()
        self._events = []
        self.open(self.conn)
        return self

    def open(self, conn: Any) -> None:
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
            self.conn = None

    async def first_time(self, message_id: UUID, topic: str) -> bool:
        """Record `message_id` as handled; False when it already was (a redelivery)."""
        row = await self.conn.fetchval(
            "INSERT INTO processed_messages (message_id, topic) VALUES ($1, $2) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            message_id,
            topic,
        )
        return row is not None

    def emit(self, topic: str, key: str | bytes | None, message: Message) -> None:
        """Publish `message` once this unit of work commits."""
        self.emit_encoded(topic, key, message.TYPE, message.to_json())

    def emit_encoded(
        self, topic: str, key: str | bytes | None, event_type: str, payload: bytes
    ) -> None:
        """Publish an event already written as the contract's JSON once this commits."""
        self._events.append(outbox_row(topic, key, event_type, payload))

    async def commit(self) -> None:
        await enqueue(self.conn, self._events)
        await self._tx.commit()
        self._tx = None
        self._events = []
        if self._on_commit is not None:
            self._on_commit()


async def handle_command_once(
    uow: PostgresUnitOfWork,
    cmd: Message,
    topic: str,
    apply: Callable[[], Awaitable[None]],
    reject: Callable[[RuleBroken], None],
) -> None:
    """The skeleton of every command handler: in one unit of work, skip a command already
    handled, `apply` it, or `reject` it when it breaks a rule; then commit."""
    async with uow:
        if not await uow.first_time(cmd.event_id, topic):
            log.info("duplicate command ignored", command_id=str(cmd.event_id))
            return
        try:
            await apply()
        except RuleBroken as broken:
            reject(broken)
            log.info(
                "command rejected",
                command_id=str(cmd.event_id),
                command_type=cmd.TYPE,
                reason=broken.reason,
            )
        crash_point("before_commit")
        await uow.commit()
        crash_point("after_commit")
