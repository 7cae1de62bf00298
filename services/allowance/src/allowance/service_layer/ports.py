"""What the allowance handlers need from storage, as small interfaces: the asyncpg repository
in `adapters/` implements them, and so does the in-memory fake the unit tests use."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from allowance.domain.model import Call, Grant


class Allowances(Protocol):
    async def add_grants(self, grants: list[Grant]) -> list[Grant]: ...

    async def usable_grants(
        self, customer_ids: list[str], since: datetime, until: datetime
    ) -> dict[str, list[Grant]]: ...

    async def save_used(self, grants: list[Grant]) -> None: ...

    async def expire(self, at: datetime) -> list[Grant]: ...

    async def add_calls(self, calls: list[Call], horizon: datetime | None) -> int: ...

    async def waiting_calls(self, customer_ids: list[str], per_customer: int) -> list[Call]: ...

    async def mark_applied(self, usage_ids: list[UUID]) -> None: ...

    async def set_heads(self, heads: dict[str, datetime | None]) -> None: ...

    async def horizon(self) -> datetime | None: ...

    async def advance_horizon(self, at: datetime, tick_id: UUID) -> bool: ...


class UnitOfWork(Protocol):
    @property
    def repository(self) -> Allowances: ...

    def emit_encoded(
        self, topic: str, key: str | bytes | None, event_type: str, payload: bytes
    ) -> None: ...
