"""A small language for e2e charging tests: define, assign, tick, run, then read what came out."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from pkgcontract import topics
from pkgtools.testing.kafka import Record, TopicReader
from pkgtools.testing.system import System, body, command

WATCHED = (
    topics.CATALOG_PACKAGES,
    topics.ASSIGNMENT_EVENTS,
    topics.CREDIT_DEBITED,
    topics.FREE_MINUTES_GRANTED,
    topics.CHARGER_EVENTS,
    topics.CHARGER_PROGRESS,
    topics.CREDITS_ISSUED,
)

PER_SECOND = Decimal("0.002000")  # GBP a second: a call's default rated amount, exactly


class Scenario:
    def __init__(self, system: System, reader: TopicReader) -> None:
        self.system = system
        self.reader = reader
        self.customer = f"cust-{uuid.uuid4().hex[:8]}"

    async def define(self, package_id: str | None = None, **fields: Any) -> dict[str, Any]:
        package_id = package_id or f"pkg-{uuid.uuid4().hex[:8]}"
        defaults: dict[str, Any] = {
            "name": package_id,
            "kind": "recurring",
            "retail": "1.00",
            "currency": "GBP",
            "frequency": "monthly",
            "frequency_match": [1],
        }
        cmd = command("DefinePackage", package_id=package_id, **(defaults | fields))
        await self.system.send(topics.CATALOG_COMMANDS, cmd, key=package_id)
        records = await self.reader.wait_count(
            1, event_type="PackageDefined", package_id=package_id, retail=cmd["retail"]
        )
        return body(records[-1])

    async def assign(self, package_id: str, customer: str | None = None, **fields: Any) -> str:
        customer = customer or self.customer
        defaults: dict[str, Any] = {"quantity": 1, "start_date": "2026-01-01"}
        cmd = command(
            "AssignPackage",
            assignment_id=str(uuid.uuid4()),
            customer_id=customer,
            package_id=package_id,
            **(defaults | fields),
        )
        await self.system.send(topics.ASSIGNMENT_COMMANDS, cmd, key=customer)
        await self.reader.wait_count(
            1, event_type="PackageAssigned", assignment_id=cmd["assignment_id"]
        )
        return str(cmd["assignment_id"])

    async def send(self, topic: str, event_type: str, key: str, **fields: Any) -> dict[str, Any]:
        cmd = command(event_type, **fields)
        await self.system.send(topic, cmd, key=key)
        return cmd

    async def call(
        self,
        at: str,
        seconds: int,
        *,
        customer: str | None = None,
        destination: str = "442071234567",
        amount: str | None = None,
    ) -> str:
        """A call (a UsageRated with a destination and a duration, docs/contract.md §4 Usage)
        of `customer` (this scenario's by default), keyed by it; rated 0.002 GBP a second
        unless `amount` says otherwise. Returns its usage_id."""
        customer = customer or self.customer
        usage_id = str(uuid.uuid4())
        await self.send(
            topics.USAGE_RATED,
            "UsageRated",
            customer,
            usage_id=usage_id,
            customer_id=customer,
            amount=amount if amount is not None else str(PER_SECOND * seconds),
            currency="GBP",
            occurred_at=at,
            destination=destination,
            duration_seconds=seconds,
        )
        return usage_id

    async def reverse(
        self,
        usage_id: str,
        *,
        customer: str | None = None,
        reversal_id: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        """A UsageReversed of `usage_id` (docs/contract.md §4 Usage), keyed by its customer
        unless `key` says otherwise; a new reversal_id unless one is given. Returns what was
        sent."""
        customer = customer or self.customer
        return await self.send(
            topics.USAGE_RATED,
            "UsageReversed",
            key or customer,
            reversal_id=reversal_id or str(uuid.uuid4()),
            usage_id=usage_id,
            customer_id=customer,
        )

    async def tick(self, at: str) -> str:
        tick_id = str(uuid.uuid4())
        await self.send(topics.CLOCK_TICKS, "ClockTicked", "clock", tick_id=tick_id, at=at)
        return tick_id

    async def settle(self, at: str) -> str:
        """Tick at `at` (later than any tick before) and wait for its ChargesSettled; then
        read every watched topic to its end, so what the tick made is all in `of`."""
        tick_id = await self.tick(at)
        await self.reader.wait_count(1, timeout=120, event_type="ChargesSettled", tick_id=tick_id)
        await self.reader.read_to_end()
        return tick_id

    async def wait(self, n: int, **match: Any) -> list[dict[str, Any]]:
        return [body(r) for r in await self.reader.wait_count(n, timeout=60, **match)]

    def of(self, event_type: str, **match: Any) -> list[dict[str, Any]]:
        out = []
        for r in self.reader.records:
            obj = _json(r)
            if obj.get("event_type") == event_type and all(
                obj.get(k) == v for k, v in match.items()
            ):
                out.append(obj)
        return out


def _json(record: Record) -> dict[str, Any]:
    try:
        obj = body(record)
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}
