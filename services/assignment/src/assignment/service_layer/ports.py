"""What the assignment handlers need from storage, as small interfaces: the asyncpg
repositories in `adapters/` implement them, and so do the in-memory fakes the unit tests use."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from assignment.domain.model import AssignmentState, CatalogEntry
from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    Message,
    PackageAssigned,
    PackageDefined,
    PackageRetired,
    SpendLimitSet,
)


class Assignments(Protocol):
    """The assignments and spend limits (what is read is kept for the unit of work)."""

    async def preload(self, assignment_ids: list[UUID]) -> None: ...

    async def get(self, assignment_id: UUID) -> AssignmentState | None: ...

    async def add(self, assigned: PackageAssigned, minimum_days: int | None) -> None: ...

    async def update(
        self, state: AssignmentChanged, event: AssignmentChanged | AssignmentEnded | None = None
    ) -> None: ...

    async def flush(self) -> None: ...

    async def set_spend_limit(self, event: SpendLimitSet) -> None: ...


class Catalog(Protocol):
    """The service's view of catalog.packages."""

    async def preload(self, package_ids: list[str]) -> None: ...

    async def get(self, package_id: str) -> CatalogEntry | None: ...

    async def apply_defined(self, event: PackageDefined) -> None: ...

    async def apply_retired(self, event: PackageRetired) -> None: ...

    async def positions(self) -> dict[int, int]: ...


class UnitOfWork(Protocol):
    """One transaction: the repositories, and the events it will publish (the outbox)."""

    @property
    def assignments(self) -> Assignments: ...

    @property
    def catalog(self) -> Catalog: ...

    def emit(self, message: Message, /) -> None:
        """Publish `message` once the unit of work commits, to its topic under its key
        (assignment.adapters.events.ROUTES)."""
