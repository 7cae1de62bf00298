"""What the allowance handlers need from storage, as small interfaces: the asyncpg repository
in `adapters/` implements them, and so does the in-memory fake the unit tests use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from allowance.domain.events import AllowanceEvent
from allowance.domain.model import Call, Grant
from pkgcontract.messages import Message


class Allowances(Protocol):
    async def add_grants(self, grants: list[Grant]) -> list[Grant]: ...

    async def usable_grants(
        self, customer_ids: list[str], since: datetime, until: datetime
    ) -> dict[str, list[Grant]]: ...

    async def save_used(self, grants: list[Grant]) -> None: ...

    async def expire(self, at: datetime) -> list[Grant]: ...

    async def hold_partitions(self, partitions: list[int]) -> None: ...

    async def first_applied(self, usage_ids: list[UUID]) -> set[UUID]: ...

    async def park(self, calls: list[Call], partitions: dict[str, int]) -> None: ...

    async def parked_among(self, customer_ids: list[str]) -> set[str]: ...

    async def parked_settling(
        self, horizon: datetime, most: int, partitions: list[int]
    ) -> list[str]: ...

    async def parked_settled(
        self, customer_ids: list[str], horizon: datetime, most: int
    ) -> list[tuple[int, Call]]: ...

    async def unpark(self, seqs: list[int]) -> None: ...

    async def horizon(self) -> datetime | None: ...

    async def expiry(self, lock: bool = False) -> tuple[datetime, dict[int, int]] | None: ...

    async def await_expiry(self, at: datetime, ends: dict[int, int]) -> None: ...

    async def mark_ready(self, ready: dict[int, datetime]) -> None: ...

    async def ready_for(self, partitions: list[int]) -> dict[int, datetime]: ...

    async def expired_now(self) -> None: ...

    async def advance_horizon(self, at: datetime, tick_id: UUID) -> bool: ...


class UnitOfWork(Protocol):
    @property
    def repository(self) -> Allowances: ...

    async def read_positions(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        """How far this schema has read each of `topics`, by (topic, partition)."""

    def emit(self, event: Message | AllowanceEvent, /) -> None:
        """Publish `event` once the unit of work commits; its adapter writes the bytes to the
        event's topic under its key (allowance.adapters.events.ROUTES)."""
