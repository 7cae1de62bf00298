"""What the charger's handlers need from storage, as small interfaces: the asyncpg
repositories in `adapters/` implement them, and so do the in-memory fakes the unit tests use."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, Protocol
from uuid import UUID

from charger.domain.model import Assignment, MonthTotals, PackageVersion, SpendLimit, Tracked
from charger.domain.proration import Credit, Debited
from pkgcontract.messages import Message, PackageDefined, SpendLimitSet, UsageRated


class LedgerRow(NamedTuple):
    """A charge the ledger records (made, declined or covered); a named tuple: a million are
    made per big tick. The last five, kept since proration (CONTRACT.md §7), are what a credit
    of the debit needs."""

    key: str
    customer_id: str
    assignment_id: UUID
    kind: str
    status: str
    period_start: date
    amount: Decimal | None
    currency: str | None
    minutes: int | None
    reason: str
    period_end: date | None = None
    charged_days: int | None = None
    period_days: int | None = None
    cost: Decimal | None = None
    package_version: int | None = None


Progress = tuple[UUID, date | None, bool, datetime | None, date | None, str | None]
"""What a tick's planning leaves on an assignment: (assignment_id, ticked_through, setup_done,
next_due_at, noticed_through, hold). A plain tuple: a million are made per big tick."""


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
        self, customer_id: str, assignment_id: UUID, at: datetime
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

    async def ledger_status(self, keys: list[str]) -> dict[str, tuple[str, Decimal | None]]: ...

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


class UnitOfWork(Protocol):
    """One transaction: the repositories, how far the inputs were read, and the events it will
    publish (the outbox)."""

    @property
    def projections(self) -> Projections: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def clock(self) -> Clock: ...

    def emit(self, topic: str, key: str | bytes | None, message: Message) -> None: ...

    def emit_encoded(
        self, topic: str, key: str | bytes | None, event_type: str, payload: bytes
    ) -> None: ...

    async def read_positions(self, topics: tuple[str, ...]) -> dict[tuple[str, int], int]: ...
