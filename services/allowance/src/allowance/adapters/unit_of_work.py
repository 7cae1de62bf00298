"""The allowance's unit of work: the chassis's PostgreSQL transaction with the allowance's
repository, its events' encoders and their routes (an event is emitted alone: its topic and key
come from allowance.adapters.events.ROUTES)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

from allowance.adapters.events import ENCODERS, route
from allowance.adapters.repository import AllowanceRepository
from pkgshared.uow import PostgresUnitOfWork

if TYPE_CHECKING:
    from pkgshared.db import Connection

_ROUTED: Any = object()


class AllowanceUnitOfWork(PostgresUnitOfWork):
    repository: AllowanceRepository
    encoders = ENCODERS

    def open(self, conn: Connection) -> None:
        self.repository = AllowanceRepository(conn)

    @overload
    def emit(self, event: object, /) -> None: ...

    @overload
    def emit(self, topic: str, key: str | bytes | None, event: object) -> None: ...

    def emit(self, topic: Any, key: Any = _ROUTED, event: Any = _ROUTED) -> None:
        """`emit(event)`: the allowance's handlers, routed by ROUTES; `emit(topic, key,
        event)`: the chassis (dead letters and rejections of records it cannot read)."""
        if key is _ROUTED:
            event = topic
            topic, key = route(event)
        super().emit(topic, key, event)
