"""In-memory stand-ins for the allowance service's repository and unit of work
(allowance.service_layer.ports), with the repository's selection rules restated plainly."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from allowance.domain.model import Call, Grant


@dataclass
class FakeAllowances:
    grants: dict[UUID, Grant] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)  # in the order read
    applied: set[UUID] = field(default_factory=set)
    heads: dict[str, datetime | None] = field(default_factory=dict)
    settled_at: datetime | None = None

    async def add_grants(self, grants: list[Grant]) -> list[Grant]:
        new = [g for g in grants if g.grant_id not in self.grants]
        self.grants.update((g.grant_id, g) for g in new)
        return new

    async def usable_grants(
        self, customer_ids: list[str], since: datetime, until: datetime
    ) -> dict[str, list[Grant]]:
        out: dict[str, list[Grant]] = {c: [] for c in customer_ids}
        for g in self.grants.values():
            if (
                g.customer_id in out
                and g.used_seconds < g.granted_seconds
                and g.valid_from <= until
                and g.valid_until > since
            ):
                out[g.customer_id].append(g)
        return out

    async def save_used(self, grants: list[Grant]) -> None:
        for g in grants:
            self.grants[g.grant_id] = dataclasses.replace(
                self.grants[g.grant_id], used_seconds=g.used_seconds
            )

    async def expire(self, at: datetime) -> list[Grant]:
        ended = [g for g in self.grants.values() if g.status == "active" and g.valid_until <= at]
        for g in ended:
            self.grants[g.grant_id] = dataclasses.replace(g, status="expired")
        return [self.grants[g.grant_id] for g in ended]

    async def add_calls(self, calls: list[Call], horizon: datetime | None) -> int:
        known = {c.usage_id for c in self.calls}
        new = [c for c in calls if c.usage_id not in known]
        self.calls += new
        for c in new:
            self.heads.setdefault(c.customer_id, c.occurred_at)
        return len(new)

    async def waiting_calls(self, customer_ids: list[str], per_customer: int) -> list[Call]:
        out: list[Call] = []
        taken: dict[str, int] = {}
        for c in self.calls:
            mine = c.customer_id in customer_ids and c.usage_id not in self.applied
            if mine and taken.get(c.customer_id, 0) <= per_customer:
                taken[c.customer_id] = taken.get(c.customer_id, 0) + 1
                out.append(c)
        return out

    async def mark_applied(self, usage_ids: list[UUID]) -> None:
        self.applied.update(usage_ids)

    async def set_heads(self, heads: dict[str, datetime | None]) -> None:
        self.heads.update(heads)

    async def horizon(self) -> datetime | None:
        return self.settled_at

    async def advance_horizon(self, at: datetime, tick_id: UUID) -> bool:
        if self.settled_at is not None and at <= self.settled_at:
            return False
        self.settled_at = at
        return True


@dataclass
class FakeUnitOfWork:
    repository: FakeAllowances = field(default_factory=FakeAllowances)
    emitted: list[tuple[str, str | bytes | None, str, bytes]] = field(default_factory=list)

    def emit_encoded(
        self, topic: str, key: str | bytes | None, event_type: str, payload: bytes
    ) -> None:
        self.emitted.append((topic, key, event_type, payload))

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [json.loads(p) for _, _, t, p in self.emitted if t == event_type]
