"""In-memory stand-ins for the allowance service's repository and unit of work
(allowance.service_layer.ports), with the repository's selection rules restated plainly."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from allowance.adapters.events import ENCODERS, route
from allowance.domain.model import Grant
from allowance.domain.reversal import CoveredBatch, CoveredCall, Usage
from allowance.domain.rollover import Rollover
from pkgshared.uow import encoded


@dataclass
class FakeAllowances:
    grants: dict[UUID, Grant] = field(default_factory=dict)
    applied: set[UUID] = field(default_factory=set)
    held: list[list[int]] = field(default_factory=list)  # partitions held, per call
    settled_at: datetime | None = None
    parked: list[tuple[int, Usage]] = field(default_factory=list)  # (seq, call), in seq order
    seq: int = 0
    partition_of: dict[str, int | None] = field(default_factory=dict)  # of parked customers
    pending: tuple[datetime, dict[int, int]] | None = None  # the expiry waiting
    ready: dict[int, datetime] = field(default_factory=dict)
    covered: dict[UUID, CoveredCall] = field(default_factory=dict)  # usage_id -> its uses
    reversals_read: set[UUID] = field(default_factory=set)

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
                and g.used_seconds + g.rolled_over_seconds < g.granted_seconds
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

    async def save_returned(self, grants: list[Grant]) -> None:
        for g in grants:
            self.grants[g.grant_id] = dataclasses.replace(
                self.grants[g.grant_id],
                used_seconds=g.used_seconds,
                returned_seconds=g.returned_seconds,
                peak_used_seconds=g.peak_used_seconds,
            )

    async def grants_by_id(self, grant_ids: list[UUID]) -> list[Grant]:
        return [self.grants[i] for i in grant_ids if i in self.grants]

    async def add_rollovers(self, rollovers: list[Rollover]) -> list[Rollover]:
        made = []
        for r in rollovers:
            old = self.grants[r.expired.grant_id]
            if old.rolled_over_seconds or r.carried.grant_id in self.grants:
                continue
            self.grants[old.grant_id] = dataclasses.replace(
                old, rolled_over_seconds=r.expired.rolled_over_seconds
            )
            self.grants[r.carried.grant_id] = r.carried
            made.append(r)
        return made

    async def record_covered(self, batch: CoveredBatch) -> None:
        for c in batch.calls():
            self.covered.setdefault(c.usage_id, c)

    async def covered_calls(self, usage_ids: list[UUID]) -> dict[UUID, CoveredCall]:
        return {u: self.covered[u] for u in usage_ids if u in self.covered}

    async def first_reversals(self, reversal_ids: list[UUID]) -> set[UUID]:
        new = set(reversal_ids) - self.reversals_read
        self.reversals_read |= new
        return new

    async def mark_reversed(self, reversed_calls: list[tuple[UUID, UUID]]) -> None:
        for u, r in reversed_calls:
            if self.covered[u].reversal_id is None:
                self.covered[u] = self.covered[u]._replace(reversal_id=r)

    async def expire(self, at: datetime) -> list[Grant]:
        ended = [g for g in self.grants.values() if g.status == "active" and g.valid_until <= at]
        for g in ended:
            self.grants[g.grant_id] = dataclasses.replace(g, status="expired")
        return [self.grants[g.grant_id] for g in ended]

    async def hold_partitions(self, partitions: list[int]) -> None:
        self.held.append(list(partitions))

    async def first_applied(self, usage_ids: list[UUID]) -> set[UUID]:
        new = set(usage_ids) - self.applied
        self.applied |= new
        return new

    async def park(self, calls: list[Usage], partitions: dict[str, int]) -> None:
        for c in calls:
            self.partition_of[c.customer_id] = partitions.get(c.customer_id)
            self.seq += 1
            self.parked.append((self.seq, c))

    async def parked_among(self, customer_ids: list[str]) -> set[str]:
        return {c.customer_id for _, c in self.parked} & set(customer_ids)

    async def parked_settling(
        self, horizon: datetime, most: int, partitions: list[int]
    ) -> list[str]:
        heads: dict[str, Usage] = {}
        for _, c in self.parked:
            if self.partition_of.get(c.customer_id) in (None, *partitions):
                heads.setdefault(c.customer_id, c)
        return sorted(k for k, c in heads.items() if c.occurred_at < horizon)[:most]

    async def parked_settled(
        self, customer_ids: list[str], horizon: datetime, most: int
    ) -> list[tuple[int, Usage]]:
        out, blocked = [], set()
        for seq, c in self.parked:
            if c.customer_id not in customer_ids or c.customer_id in blocked:
                continue
            if c.occurred_at >= horizon:
                blocked.add(c.customer_id)
            else:
                out.append((seq, c))
        return out[:most]

    async def unpark(self, seqs: list[int]) -> None:
        gone = set(seqs)
        self.parked = [(s, c) for s, c in self.parked if s not in gone]

    async def horizon(self) -> datetime | None:
        return self.settled_at

    async def expiry(self, lock: bool = False) -> tuple[datetime, dict[int, int]] | None:
        return self.pending

    async def await_expiry(self, at: datetime, ends: dict[int, int]) -> None:
        self.pending = (at, dict(ends))

    async def mark_ready(self, ready: dict[int, datetime]) -> None:
        for p, at in ready.items():
            if p not in self.ready or self.ready[p] < at:
                self.ready[p] = at

    async def ready_for(self, partitions: list[int]) -> dict[int, datetime]:
        return {p: self.ready[p] for p in partitions if p in self.ready}

    async def expired_now(self) -> None:
        self.pending = None

    async def advance_horizon(self, at: datetime, tick_id: UUID) -> bool:
        if self.settled_at is not None and at <= self.settled_at:
            return False
        self.settled_at = at
        return True


@dataclass
class FakeUnitOfWork:
    repository: FakeAllowances = field(default_factory=FakeAllowances)
    emitted: list[tuple[str, str | bytes | None, str, bytes]] = field(default_factory=list)

    read: dict[tuple[str, int], int] = field(default_factory=dict)  # read_positions

    async def read_positions(self, topics: Any) -> dict[tuple[str, int], int]:
        return {k: v for k, v in self.read.items() if k[0] in topics}

    def emit(self, event: object, /) -> None:
        # The service's own routes and encoders: what a handler emits is checked as the
        # topic, key and bytes it gives.
        self.emitted.append((*route(event), *encoded(event, ENCODERS)))

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [json.loads(p) for _, _, t, p in self.emitted if t == event_type]
