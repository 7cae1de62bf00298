"""The charger's store against PostgreSQL: assignments projected before their package's first
version (the two come from different topics) fall due once the version arrives, across several
refresh chunks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from charger.adapters.store import REFRESH_CHUNK, ChargerStore
from charger.bootstrap import MIGRATIONS
from pkgshared.db import SHARED_MIGRATIONS, create_pool, migrate
from pkgshared.messages import PackageAssigned, PackageDefined


async def test_a_first_version_makes_earlier_assignments_due(
    database_url: str, fresh_schema: str
) -> None:
    pool = await create_pool(database_url, fresh_schema)
    try:
        await migrate(pool, SHARED_MIGRATIONS, "shared")
        await migrate(pool, MIGRATIONS)
        customers = REFRESH_CHUNK * 2 + 7
        async with pool.acquire() as conn, conn.transaction():
            store = ChargerStore(conn)
            for n in range(customers):
                await store.apply_assigned(
                    PackageAssigned(
                        assignment_id=uuid.uuid4(),
                        customer_id=f"c{n:05d}",
                        package_id="late",
                        package_version=1,
                        quantity=1,
                        start_date="2026-01-01",
                        auto_decrement_credit=True,
                        timezone="Europe/London",
                    )
                )
            undue = await conn.fetchval(
                "SELECT count(*) FROM assignments WHERE next_due_at IS NULL"
            )
            assert undue == customers  # no version yet: nothing can be due

            await store.add_version(
                PackageDefined(
                    package_id="late",
                    version=1,
                    name="late",
                    kind="recurring",
                    retail="1.00",
                    currency="GBP",
                    frequency="monthly",
                    frequency_match=[1],
                    effective_from=None,
                )
            )
            due = await conn.fetch("SELECT DISTINCT next_due_at FROM assignments")
            customer_due = await conn.fetch(
                "SELECT DISTINCT next_due_at FROM customers WHERE customer_id LIKE 'c%'"
            )
        first = datetime(2026, 1, 1, tzinfo=UTC)  # midnight in London on 1 January is UTC
        assert [r["next_due_at"] for r in due] == [first]
        assert [r["next_due_at"] for r in customer_due] == [first]
    finally:
        await pool.close()
