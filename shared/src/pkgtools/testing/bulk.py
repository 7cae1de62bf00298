"""Many assignments through the services' normal paths, and the debits a tick should make."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from pkgcontract import topics
from pkgtools.testing.kafka import produce_keyed
from pkgtools.testing.system import System, body, command, define_package

PERIODS = ("2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01")
TICK_AT = "2026-06-15T00:00:00Z"
NOTICE_DAYS = 20  # the July debit's notice moment (11 June) is passed by TICK_AT
NOTICED = "2026-07-01"


def debit_id(assignment_id: str, period_start: str) -> str:
    """The contract's deterministic id of an assignment's debit for one period."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packages:debit:{assignment_id}:{period_start}"))


def notice_ids(assignment_ids: list[str]) -> set[str]:
    """The ChargeUpcoming ids a tick at TICK_AT sends when seeded with `notices=True`."""
    return {
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"packages:upcoming:{a}:{NOTICED}"))
        for a in assignment_ids
    }


async def notices_until(system: System, want: set[str], timeout: float = 120) -> list[str]:
    """Every ChargeUpcoming id on charger.events once `want` are all there."""
    async with system.reader(topics.CHARGER_EVENTS) as reader:

        def upcoming(records: list[Any]) -> list[str]:
            return [
                b["event_id"] for b in map(body, records) if b.get("event_type") == "ChargeUpcoming"
            ]

        await reader.wait_for(
            lambda rs: set(upcoming(rs)) >= want, timeout=timeout, what=f"{len(want)} notices"
        )
        await reader.read_to_end()
        return upcoming(reader.records)


def expected_ids(assignment_ids: list[str]) -> set[str]:
    """The debit ids a tick at TICK_AT makes for assignments seeded by `seed`."""
    return {debit_id(a, p) for a in assignment_ids for p in PERIODS}


async def seed(system: System, customers: int, notices: bool = False) -> list[str]:
    """One monthly package (with NOTICE_DAYS of notice when `notices`) and one assignment
    per customer from 2026-01-01."""
    pid = f"bulk-{uuid.uuid4().hex[:6]}"
    extra: dict[str, Any] = {"notice_days": NOTICE_DAYS} if notices else {}
    define = define_package(pid, retail="1.25", frequency="monthly", frequency_match=[1], **extra)
    async with system.reader(topics.CATALOG_PACKAGES) as reader:
        await system.send(topics.CATALOG_COMMANDS, define, key=pid)
        await reader.wait_count(1, event_type="PackageDefined", package_id=pid)
    assigns = [
        command(
            "AssignPackage",
            assignment_id=str(uuid.uuid4()),
            customer_id=f"c{n:05d}",
            package_id=pid,
            quantity=1,
            start_date="2026-01-01",
        )
        for n in range(customers)
    ]
    await produce_keyed(
        system.bootstrap,
        system.topic(topics.ASSIGNMENT_COMMANDS),
        [(str(a["customer_id"]), a) for a in assigns],
    )
    async with system.reader(topics.ASSIGNMENT_EVENTS) as reader:
        await reader.wait_count(customers, timeout=120, event_type="PackageAssigned")
    return [str(a["assignment_id"]) for a in assigns]


async def debits_until(system: System, want: set[str], timeout: float = 180) -> list[str]:
    """Every debit id on the topic once `want` are all there (a republish repeats an id)."""
    async with system.reader(topics.CREDIT_DEBITED) as reader:
        await reader.wait_for(
            lambda rs: {body(r)["debit_id"] for r in rs} >= want,
            timeout=timeout,
            what=f"{len(want)} debits",
        )
        await asyncio.sleep(0)
        await reader.poll(1.0)
        return [body(r)["debit_id"] for r in reader.records]
