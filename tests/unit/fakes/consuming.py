"""An in-memory stand-in for what the batch consumer asks of a unit of work (stored read
offsets, command de-dup, the outbox), over the assignment fakes: the chassis driven without
PostgreSQL. Offsets, processed commands and events count only once committed; the
assignment and catalog fakes change at once (no test here rolls them back)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Self
from uuid import UUID

from assignment.adapters.events import ROUTES
from pkgcontract.messages import Message
from tests.unit.fakes.assignment import FakeAssignments, FakeCatalog


@dataclass
class FakeStore:
    """What survives a restart: the database."""

    assignments: FakeAssignments = field(default_factory=FakeAssignments)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    processed: dict[UUID, bytes] = field(default_factory=dict)
    published: list[tuple[str, Any, Message]] = field(default_factory=list)

    def uow(self) -> FakeConsumingUnitOfWork:
        return FakeConsumingUnitOfWork(self)

    def events(self, event_type: type[Message] | None = None) -> list[Message]:
        return [m for _, _, m in self.published if event_type is None or type(m) is event_type]


class FakeConsumingUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.assignments = store.assignments
        self.catalog = store.catalog
        self.outcomes: Counter[str] = Counter()
        self._emitted: list[tuple[str, Any, Message]] = []
        self._offsets: dict[tuple[str, int], int] = {}
        self._processed: dict[UUID, bytes] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    def note(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    def emit(self, *args: Any) -> None:
        # `emit(event)` from the assignment service's handlers (routed by its table, as its
        # unit of work routes them), `emit(topic, key, event)` from the chassis.
        if len(args) == 1:
            [message] = args
            topic, key = ROUTES[type(message)](message)
        else:
            topic, key, message = args
        self._emitted.append((topic, key, message))

    async def lock_read_offsets(self, topic: str, partitions: set[int]) -> dict[int, int]:
        return {p: self.store.offsets.get((topic, p), 0) for p in partitions}

    async def advance_read_offsets(self, topic: str, next_offsets: dict[int, int]) -> None:
        for p, offset in next_offsets.items():
            self._offsets[(topic, p)] = max(offset, self.store.offsets.get((topic, p), 0))

    async def processed_digests(self, ids: list[UUID]) -> dict[UUID, bytes | None]:
        return {i: self.store.processed[i] for i in ids if i in self.store.processed}

    async def record_processed(self, topic: str, handled: list[tuple[UUID, bytes]]) -> None:
        self._processed.update(handled)

    async def commit(self) -> None:
        self.store.offsets.update(self._offsets)
        self.store.processed.update(self._processed)
        self.store.published += self._emitted


def record(topic: str, partition: int, offset: int, key: str, message: Message) -> Any:
    """A consumer record as aiokafka hands it over."""
    return SimpleNamespace(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key.encode(),
        value=message.to_json(),
    )
