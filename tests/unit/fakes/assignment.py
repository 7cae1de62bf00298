"""In-memory stand-ins for the assignment service's repositories and unit of work (the
interfaces in assignment.service_layer.ports): handlers tested with plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from assignment.adapters.events import ROUTES
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


@dataclass
class FakeAssignments:
    states: dict[UUID, AssignmentState] = field(default_factory=dict)
    history: dict[UUID, list[Message]] = field(default_factory=dict)
    limits: dict[str, SpendLimitSet] = field(default_factory=dict)

    async def preload(self, assignment_ids: list[UUID]) -> None:
        pass

    async def get(self, assignment_id: UUID) -> AssignmentState | None:
        return self.states.get(assignment_id)

    async def add(self, assigned: PackageAssigned, minimum_days: int | None) -> None:
        self.states[assigned.assignment_id] = AssignmentState(assigned, assigned, minimum_days)
        self.history[assigned.assignment_id] = [assigned]

    async def update(
        self, state: AssignmentChanged, event: AssignmentChanged | AssignmentEnded | None = None
    ) -> None:
        known = self.states[state.assignment_id]
        self.states[state.assignment_id] = AssignmentState(
            state, known.assigned, known.minimum_days
        )
        self.history[state.assignment_id].append(event or state)

    async def flush(self) -> None:
        pass

    async def set_spend_limit(self, event: SpendLimitSet) -> None:
        self.limits[event.customer_id] = event


@dataclass
class FakeCatalog:
    entries: dict[str, CatalogEntry] = field(default_factory=dict)

    async def preload(self, package_ids: list[str]) -> None:
        pass

    async def get(self, package_id: str) -> CatalogEntry | None:
        return self.entries.get(package_id)

    async def apply_defined(self, event: PackageDefined) -> None:
        known = self.entries.get(event.package_id)
        if known is None or known.version <= event.version:
            self.entries[event.package_id] = CatalogEntry(
                event.package_id, event.version, False, event.minimum_days
            )

    async def apply_retired(self, event: PackageRetired) -> None:
        known = self.entries.get(event.package_id)
        self.entries[event.package_id] = CatalogEntry(
            event.package_id,
            event.version,
            True,
            known.minimum_days if known else None,
        )

    async def positions(self) -> dict[int, int]:
        return {}


@dataclass
class FakeUnitOfWork:
    assignments: FakeAssignments = field(default_factory=FakeAssignments)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    emitted: list[tuple[str, str | bytes | None, Message]] = field(default_factory=list)

    def emit(self, message: Message, /) -> None:
        # Routed by the service's own table, as the real unit of work routes them.
        topic, key = ROUTES[type(message)](message)
        self.emitted.append((topic, key, message))

    def events(self) -> list[Message]:
        return [m for _, _, m in self.emitted]
