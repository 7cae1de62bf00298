"""The charger's projections and ledger against PostgreSQL: assignments projected before their
package's first version (the two come from different topics) fall due once the version
arrives, across several refresh chunks."""

from __future__ import annotations

import dataclasses
import json
import shutil
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from charger.adapters.ledger import LedgerRepository
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.bootstrap import MIGRATIONS
from charger.domain.catch_up import Policy
from charger.domain.model import Assignment, Terms
from charger.service_layer.charging import charge_batch
from charger.service_layer.handlers import handle_events
from charger.service_layer.input_events import REFRESH_CHUNK
from pkgcontract.messages import Message, PackageAssigned, PackageDefined
from pkgshared.db import SHARED_MIGRATIONS, migrate


def _assigned(customer: str, package: str, start: str, end: str | None = None) -> PackageAssigned:
    return PackageAssigned(
        assignment_id=uuid.uuid4(),
        customer_id=customer,
        package_id=package,
        package_version=1,
        quantity=1,
        start_date=start,
        end_date=end,
        auto_decrement_credit=True,
        timezone="UTC",
    )


def _package(package: str, frequency: str, match: list[int]) -> PackageDefined:
    return PackageDefined(
        package_id=package,
        version=1,
        name=package,
        kind="recurring",
        retail="1.00",
        currency="GBP",
        frequency=frequency,
        frequency_match=match,
        effective_from=None,
    )


async def _project(pool: Any, *events: Message) -> None:
    uow = ChargerUnitOfWork(pool)
    async with uow:
        await handle_events(list(events), uow)
        await uow.commit()


async def test_a_first_version_makes_earlier_assignments_due(pool: Any) -> None:
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    customers = REFRESH_CHUNK * 2 + 7
    await _project(
        pool,
        *(
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
            for n in range(customers)
        ),
    )
    async with pool.acquire() as conn:
        undue = await conn.fetchval("SELECT count(*) FROM assignments WHERE next_due_at IS NULL")
    assert undue == customers  # no version yet: nothing can be due

    await _project(pool, _package("late", "monthly", [1]))
    async with pool.acquire() as conn:
        due = await conn.fetch("SELECT DISTINCT next_due_at FROM assignments")
        customer_due = await conn.fetch(
            "SELECT DISTINCT next_due_at FROM customers WHERE customer_id LIKE 'c%'"
        )
    first = datetime(2026, 1, 1, tzinfo=UTC)  # midnight in London on 1 January is UTC
    assert [r["next_due_at"] for r in due] == [first]
    assert [r["next_due_at"] for r in customer_due] == [first]


async def test_after_a_tick_each_customer_is_due_at_its_earliest_next_charge(pool: Any) -> None:
    """The customer's next due moment after a tick: the earliest of the charged assignments'
    next periods and of the assignments that were not due yet; none when nothing is left."""
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    await _project(
        pool,
        _package("daily", "daily", []),
        _package("monthly", "monthly", [5]),
        # both: a daily one ending on the 2nd, a monthly one (billed on the 5th) from the 5th
        _assigned("both", "daily", "2026-01-01", "2026-01-02"),
        _assigned("both", "monthly", "2026-01-05"),
        # daily-only: next day; ending: its last day is charged, then nothing
        _assigned("daily-only", "daily", "2026-01-01"),
        _assigned("ending", "daily", "2026-01-01", "2026-01-02"),
    )
    uow = ChargerUnitOfWork(pool)
    async with uow:
        customers = ["both", "daily-only", "ending"]
        made, taken = await charge_batch(
            customers, uow, Policy(), datetime(2026, 1, 2, 12, tzinfo=UTC), uuid.uuid4()
        )
        await uow.commit()
    assert made.charged == 6  # 1 and 2 January for each daily assignment
    assert taken == customers
    async with pool.acquire() as conn:
        due = {
            r["customer_id"]: r["next_due_at"]
            for r in await conn.fetch("SELECT customer_id, next_due_at FROM customers")
        }
    assert due == {
        "both": datetime(2026, 1, 5, tzinfo=UTC),
        "daily-only": datetime(2026, 1, 3, tzinfo=UTC),
        "ending": None,
    }


async def test_migrations_from_json_state_keep_assignments_and_mark_run_package_ones(
    pool: Any, tmp_path: Path
) -> None:
    """Assignments stored as JSON by the first schema read back the same once their state is
    in columns; one RunPackage charged is marked, so that the ticks look its charges up in the
    ledger instead of making them a second time."""
    first = tmp_path / "first"
    first.mkdir()
    for path in sorted(MIGRATIONS.glob("000[12]_*.sql")):
        shutil.copy(path, first / path.name)
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, first)
    ran = Assignment(
        assignment_id=uuid.uuid4(),
        customer_id='c "1"',
        did="441234567890",
        package_id="uk-100",
        start_date=date(2026, 1, 10),
        end_date=date(2027, 1, 9),
        timezone="Europe/London",
        terms=(Terms(None, 2, True, None), Terms(date(2026, 3, 1), 3, False, 250)),
    )
    ticked = dataclasses.replace(
        ran, assignment_id=uuid.uuid4(), did=None, end_date=None, terms=ran.terms[:1]
    )
    async with pool.acquire() as conn:
        for a, reason in ((ran, "run_package"), (ticked, "scheduled")):
            # The first schema's JSON document, as its codec wrote it.
            state = {
                "assignment_id": str(a.assignment_id),
                "customer_id": a.customer_id,
                "did": a.did,
                "package_id": a.package_id,
                "start_date": a.start_date.isoformat(),
                "end_date": a.end_date.isoformat() if a.end_date else None,
                "timezone": a.timezone,
                "terms": [
                    [
                        t.effective_from.isoformat() if t.effective_from else None,
                        t.quantity,
                        t.auto_decrement_credit,
                        t.free_minutes,
                    ]
                    for t in a.terms
                ],
            }
            await conn.execute(
                "INSERT INTO assignments (assignment_id, customer_id, state) VALUES ($1, $2, $3)",
                a.assignment_id,
                a.customer_id,
                json.dumps(state),
            )
            await conn.execute(
                "INSERT INTO ledger (charge_key, customer_id, assignment_id, kind, status, "
                "period_start, reason) VALUES ($1, $2, $3, 'recurring', 'charged', "
                "'2026-01-01', $4)",
                f"debit:{a.assignment_id}:2026-01-01",
                a.customer_id,
                a.assignment_id,
                reason,
            )
    applied = await migrate(pool, MIGRATIONS)
    assert applied[:2] == ["0003_run_charged.sql", "0004_assignment_columns.sql"]
    async with pool.acquire() as conn:
        marked = {
            r["assignment_id"]: r["run_charged"]
            for r in await conn.fetch("SELECT assignment_id, run_charged FROM assignments")
        }
        read_back = await LedgerRepository(conn).assignments_of([ran.customer_id])
    assert marked == {ran.assignment_id: True, ticked.assignment_id: False}
    assert sorted((t.assignment for t in read_back), key=lambda a: a.did or "") == [ticked, ran]
