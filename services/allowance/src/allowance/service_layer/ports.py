"""What the allowance handlers need from storage, as small interfaces: the asyncpg repository
in `adapters/` implements them, and so does the in-memory fake the unit tests use."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from allowance.domain.model import Call, Grant
from pkgshared.messages import Message


class Allowances(Protocol):
    async def add_grants(self, grants: list[Grant]) -> list[Grant]: ...

    async def usable_grants(
        self, customer_ids: list[str], since: datetime, until: datetime
    ) -> dict[str, list[Grant]]: ...

    async def save_used(self, grants: list[Grant]) -> None: ...

    async def expire(self, at: datetime) -> list[Grant]: ...

    async def lock_customers(self, customer_ids: list[str]) -> None: ...

    async def first_applied(self, usage_ids: list[UUID]) -> set[UUID]: ...

    async def park(self, calls: list[Call]) -> None: ...

    async def parked_among(self, customer_ids: list[str]) -> set[str]: ...

    async def parked_settling(self, horizon: datetime, most: int) -> list[str]: ...

    async def parked_settled(
        self, customer_ids: list[str], horizon: datetime, most: int
    ) -> list[tuple[int, Call]]: ...

    async def unpark(self, seqs: list[int]) -> None: ...

    async def horizon(self) -> datetime | None: ...

    async def advance_horizon(self, at: datetime, tick_id: UUID) -> bool: ...


class UnitOfWork(Protocol):
    @property
    def repository(self) -> Allowances: ...

    def emit(self, topic: str, key: str | bytes | None, message: Message) -> None: ...

    def emit_encoded(
        self, topic: str, key: str | bytes | None, event_type: str, payload: bytes
    ) -> None: ...
