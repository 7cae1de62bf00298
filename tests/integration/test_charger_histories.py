"""The random histories of tests/unit/test_charger_histories.py against PostgreSQL: the
projections, the charge of what is due (`charge_due`), RunPackage and the ledger's SQL (which
debits a credit finds, each period credited once, what the spend limit counts) compared with the
contract's reference. Fewer histories than the unit tier (each costs real round trips), bounded
in time; the schema is emptied between them."""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, event, given, reject, settings

from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.service_layer import runs
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.handlers import handle_events
from pkgcontract.messages import Message, RunPackage
from tests.integration.test_catch_up import _drain, _events, _setup, _tick
from tests.unit.charger_histories import CREDITS, DECLINES, EVERYTHING, POLICY, History, histories
from tests.unit.charger_history_play import check, features

EXAMPLES = int(os.environ.get("CHARGER_HISTORIES_DB", "60"))
"""Histories per test here (three tests): CHARGER_HISTORIES_DB raises it."""
BUDGET_SECONDS = float(os.environ.get("CHARGER_HISTORIES_DB_SECONDS", "45"))
"""Past this, a test plays no further history (the tier stays bounded on a busy machine)."""

PLAYED: list[int] = [0]
STARTED: dict[str, float] = {}


class _Open:
    async def check(self, _id: object, _positions: object) -> None:
        pass


class PostgresCharger:
    """The charger's own adapters on a schema of its own, driven as its consumers and tick
    worker drive them."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def reset(self) -> None:
        """Every table emptied but the migrations' record: a history starts from nothing."""
        async with self.pool.acquire() as conn:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename <> 'schema_migrations'"
            )
            names = ", ".join(f'"{r["tablename"]}"' for r in tables)
            await conn.execute(f"TRUNCATE {names}")

    async def project(self, events: list[Message]) -> None:
        uow = ChargerUnitOfWork(self.pool)
        async with uow:
            await handle_events(events, uow)
            await uow.commit()
        await _drain(self.pool, POLICY)

    async def tick(self, at: datetime) -> None:
        await _tick(self.pool, at)
        await _drain(self.pool, POLICY)

    async def run(self, cmd: RunPackage) -> None:
        uow = ChargerUnitOfWork(self.pool)
        async with uow:
            await runs.run_package(cmd, uow, Dependencies(inputs=_Open(), policy=POLICY))  # type: ignore[arg-type]
            await uow.commit()

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        return await _events(self.pool, event_type)


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # the schema is emptied before each history
        HealthCheck.filter_too_much,  # past the time budget every history is rejected
    ],
)


async def _played(pool: Any, h: History, test: str) -> None:
    started = STARTED.setdefault(test, time.monotonic())
    if time.monotonic() - started > BUDGET_SECONDS:
        reject()  # out of time: the histories played so far stand
    charger = PostgresCharger(pool)
    await charger.reset()
    PLAYED[0] += 1
    model = await check(h, charger)
    for feature in sorted(features(model)):
        event(feature)


async def _migrated(pool: Any) -> None:
    await _setup(pool)


@SETTINGS
@given(h=histories(EVERYTHING))
async def test_random_histories_through_postgres(pool: Any, h: History) -> None:
    await _migrated(pool)
    await _played(pool, h, "everything")


@SETTINGS
@given(h=histories(CREDITS, max_steps=20))
async def test_end_dates_moved_back_and_forth_through_postgres(pool: Any, h: History) -> None:
    await _migrated(pool)
    await _played(pool, h, "credits")


@SETTINGS
@given(h=histories(DECLINES))
async def test_declines_and_their_grants_through_postgres(pool: Any, h: History) -> None:
    await _migrated(pool)
    await _played(pool, h, "declines")


def teardown_module() -> None:
    print(f"\nrandom charger histories played against PostgreSQL: {PLAYED[0]}")
