"""What the charger's handlers need from storage, as small interfaces: the asyncpg
repositories in `adapters/` implement them, and so do the in-memory fakes the unit tests use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from charger.domain.charge_run import LedgerRow, Progress, Recorded
from charger.domain.events import ChargeEvent
from charger.domain.model import Assignment, MonthTotals, PackageVersion, SpendLimit, Tracked
from charger.domain.proration import Credit, Debited
from charger.domain.topups import TopUp, TopUpEvent, TopUpOutcome
from pkgcontract.messages import (
    GrantMinutes,
    Message,
    PackageDefined,
    SpendLimitSet,
    UsageRated,
    UsageReversed,
)


class Projections(Protocol):
    """The charger's view of its input topics: package versions, assignments, limits, usage."""

    async def lock_customers(self, customer_ids: list[str]) -> None: ...

    async def lock_packages(self, package_ids: list[str]) -> None: ...

    async def add_version(self, defined: PackageDefined) -> None: ...

    async def versions(self, package_ids: set[str]) -> dict[str, list[PackageVersion]]: ...

    async def customers_of_package(self, package_id: str) -> list[str]: ...

    async def package_assignments(
        self, customer_ids: list[str], package_id: str
    ) -> list[Tracked]: ...

    async def customers_of(self, assignment_ids: list[UUID]) -> dict[UUID, str]: ...

    async def tracked(self, assignment_ids: list[UUID]) -> dict[UUID, Tracked]: ...

    async def add_assignments(self, new: list[tuple[Assignment, datetime | None]]) -> None: ...

    async def save(self, changed: list[tuple[Assignment, datetime | None]]) -> None: ...

    async def set_due(self, due: dict[UUID, datetime | None]) -> None: ...

    async def refresh_customers(self, customer_ids: list[str]) -> None: ...

    async def set_spend_limit(self, e: SpendLimitSet) -> None: ...

    async def add_usage(self, records: list[UsageRated]) -> None: ...

    async def reverse_usage(self, reversals: list[UsageReversed]) -> None: ...


class Ledger(Protocol):
    """Customers due, the ticks' progress, holds, spend limits and spends, the ledger."""

    async def lock_customer(self, customer_id: str) -> None: ...

    async def claim_due_customers(self, at: datetime, limit: int) -> list[str]: ...

    async def assignments_of(self, customer_ids: list[str]) -> list[Tracked]: ...

    async def claim_customer(self, customer_id: str, at: datetime) -> bool: ...

    async def due_assignments(
        self, customer_ids: list[str], at: datetime, only: frozenset[UUID] | None = None
    ) -> tuple[list[Tracked], dict[str, datetime]]: ...

    async def due_ids(self, customer_id: str, at: datetime) -> list[UUID]: ...

    async def hold_due(
        self, customer_id: str, assignment_id: UUID, at: datetime, reason: str | None = None
    ) -> tuple[str, date] | None: ...

    async def next_due_of(self, customer_id: str) -> datetime | None: ...

    async def set_next_due(self, due: dict[str, datetime | None]) -> None: ...

    async def advance(self, progress: list[Progress]) -> None: ...

    async def wake_released(self, at: datetime) -> int: ...

    async def hold_of(self, customer_id: str, assignment_id: UUID) -> str | None: ...

    async def release(self, assignment_ids: list[UUID]) -> None: ...

    async def spend_limits(self, customer_ids: list[str]) -> dict[str, SpendLimit]: ...

    async def month_totals(self, customer_ids: list[str]) -> dict[str, MonthTotals]: ...

    async def spends(
        self, periods: list[tuple[str, str | None, str, datetime, datetime]]
    ) -> list[Decimal]: ...

    async def ledger_status(self, keys: list[str]) -> dict[str, Recorded]: ...

    async def mark_run_charged(self, assignment_ids: list[UUID]) -> None: ...

    async def record(self, rows: list[LedgerRow]) -> None: ...

    async def debits_to_credit(
        self, ends: list[tuple[str, UUID, date]]
    ) -> dict[UUID, list[Debited]]: ...

    async def record_credits(self, made: list[tuple[str, Credit]]) -> list[tuple[str, Credit]]: ...


class Clock(Protocol):
    async def tick_at(self) -> datetime | None: ...

    async def clock(self) -> tuple[datetime, UUID | None] | None: ...

    async def advance_clock(self, at: datetime, tick_id: UUID) -> bool: ...

    async def tick_to_settle(self) -> tuple[UUID, datetime] | None: ...

    async def mark_settled(self) -> None: ...

    async def refuse(self, tick_id: UUID, at: datetime, wall_clock: datetime) -> bool:
        """Record a tick refused as too far ahead; False when it already was."""
        ...


class TopUps(Protocol):
    """Top-ups read (GrantMinutes), kept once per topup_id until made."""

    async def add(self, cmd: GrantMinutes) -> bool: ...

    async def due_later(self, customer_id: str, valid_from: datetime) -> None: ...

    async def due(self, customer_ids: list[str], at: datetime) -> list[TopUp]: ...

    async def mark(self, made: list[tuple[TopUp, TopUpOutcome]]) -> None: ...

    async def fail_due(self, customer_id: str, at: datetime) -> list[UUID]: ...


class UnitOfWork(Protocol):
    """One transaction: the repositories, how far the inputs were read, and the events it will
    publish (the outbox). Nothing is kept unless `commit()` is called before it closes."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    @property
    def projections(self) -> Projections: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def topups(self) -> TopUps: ...

    def emit(self, event: Message | ChargeEvent | TopUpEvent, /) -> None:
        """Publish `event` once the unit of work commits; its adapter writes the bytes to the
        event's topic under its key (charger.adapters.events.ROUTES)."""

    async def read_positions(self, topics: tuple[str, ...]) -> dict[tuple[str, int], int]: ...

    def note(self, outcome: str) -> None:
        """Count one message of this unit of work as `rejected` or `ignored`, not handled."""


UnitsOfWork = Callable[[], UnitOfWork]
"""Opens a new unit of work (one transaction) each call: what a handler that runs several
transactions of its own (the charge of what is due, with its failure isolation) is given."""
