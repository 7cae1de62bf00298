"""Bulk loader for the charging benchmark: N assignments loaded into a charger schema through
the charger's repository (its COPY seeding methods), exactly as its projections would have
stored them after consuming the PackageDefined and PackageAssigned events (same codec, same
next-due computation).

It skips the catalog and assignment services on purpose: seeding a million assignments through
them measures those services, not the charger. `tests/e2e` covers that path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from charger.adapters.codec import version_from_defined
from charger.adapters.projections import ProjectionRepository
from charger.domain.charges import next_due
from charger.domain.model import Assignment, Terms
from pkgcontract.messages import PackageDefined

START = date(2026, 1, 1)


def packages() -> list[PackageDefined]:
    """A mix: monthly and daily recurring, and a monthly free-minutes bundle."""
    common: dict[str, Any] = {"currency": "GBP", "version": 1, "effective_from": None}
    return [
        PackageDefined(
            package_id="bench-monthly",
            name="monthly",
            kind="recurring",
            retail=Decimal("9.99"),
            cost=Decimal("4.00"),
            frequency="monthly",
            frequency_match=[1],
            **common,
        ),
        PackageDefined(
            package_id="bench-daily",
            name="daily",
            kind="recurring",
            retail=Decimal("0.33"),
            frequency="daily",
            frequency_match=[],
            **common,
        ),
        PackageDefined(
            package_id="bench-minutes",
            name="minutes",
            kind="free_minutes",
            retail=Decimal("5.00"),
            frequency="monthly",
            frequency_match=[1],
            free_minutes=100,
            destination_prefixes=["44"],
            **common,
        ),
    ]


@dataclass(frozen=True)
class Expected:
    debits: int
    grants: int

    @property
    def messages(self) -> int:
        return self.debits + self.grants


async def load(pool: Any, n: int) -> Expected:
    """N assignments starting on START, one per customer; 1 in 4 at DID level; 1 in 5 daily,
    1 in 5 free minutes, the rest monthly. A tick at START makes each one charge due."""
    defined = packages()
    versions = {d.package_id: [version_from_defined(d)] for d in defined}
    async with pool.acquire() as conn:
        repository = ProjectionRepository(conn)
        await repository.copy_versions(defined)
        grants = 0
        batch: list[tuple[Assignment, Any]] = []
        for i in range(n):
            package_id = (
                "bench-daily" if i % 5 == 1 else "bench-minutes" if i % 5 == 2 else "bench-monthly"
            )
            grants += package_id == "bench-minutes"
            a = Assignment(
                assignment_id=uuid.uuid4(),
                customer_id=f"bench-{i:07d}",
                did=f"44{i:010d}" if i % 4 == 0 else None,
                package_id=package_id,
                start_date=START,
                end_date=None,
                timezone="UTC",
                terms=(Terms(None, 1 + i % 3, True, None),),
            )
            batch.append((a, next_due(a, versions[package_id], None, False)))
            if len(batch) == 50_000:
                await repository.copy_assignments(batch)
                batch = []
        await repository.copy_assignments(batch)
        await conn.execute("ANALYZE")
    return Expected(debits=n, grants=grants)
