"""Part-periods and credits (CONTRACT.md §7) against PostgreSQL: the worked example through
the projections and the tick worker, with the ledger keeping what a credit needs and the
credits table keeping each period credited once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.domain.catch_up import Policy
from charger.service_layer.projection import project
from pkgcontract.messages import AssignmentChanged, AssignmentEnded, PackageDefined
from tests.integration.test_catch_up import _assigned, _drain, _events, _setup, _tick


def _pbx() -> PackageDefined:
    return PackageDefined(
        package_id="pbx-seat",
        version=1,
        name="PBX seat",
        kind="recurring",
        retail="30.00",
        currency="USD",
        frequency="monthly",
        frequency_match=[1],
        effective_from=None,
        proration="daily",
    )


async def _project(pool: Any, *events: Any) -> None:
    uow = ChargerUnitOfWork(pool)
    async with uow:
        await project(uow, list(events))
        await uow.commit()


async def test_the_worked_example_through_postgres(pool: Any) -> None:
    assigned = _assigned("acme", "pbx-seat", "2026-04-10", quantity=2)
    await _setup(pool, _pbx(), assigned)
    policy = Policy()
    await _tick(pool, datetime(2026, 4, 10, 0, 0, 1, tzinfo=UTC))
    await _drain(pool, policy)
    await _tick(pool, datetime(2026, 5, 1, 0, 0, 1, tzinfo=UTC))
    await _drain(pool, policy)
    debits = await _events(pool, "CreditDebited")
    assert [
        (d["period_start"], d["period_end"], d["amount"], d["charged_days"], d["period_days"])
        for d in debits
    ] == [
        ("2026-04-10", "2026-05-01", "42.000000", 21, 30),
        ("2026-05-01", "2026-06-01", "60.00", None, None),
    ]
    ended = AssignmentEnded(
        assignment_id=assigned.assignment_id,
        customer_id="acme",
        package_id="pbx-seat",
        end_date=date(2026, 5, 19),
        correlation_id="end-1",
    )
    await _project(pool, ended)
    await _project(pool, ended.model_copy(update={"event_id": uuid.uuid4()}))
    [credit] = await _events(pool, "CreditIssued")
    assert (credit["credited_from"], credit["credited_days"], credit["amount"]) == (
        "2026-05-20",
        12,
        "23.225806",
    )
    assert credit["debit_id"] == debits[1]["debit_id"] and credit["correlation_id"] == "end-1"
    assert credit["package_version"] == 1 and credit["reason"] == "ended_early"
    # Moved later again: nothing more is credited, nothing charged back.
    later = AssignmentChanged(
        **assigned.model_dump(exclude={"event_type", "event_id", "end_date"}),
        end_date=date(2026, 5, 25),
        effective_from=date(2026, 5, 1),
    )
    await _project(pool, later)
    await _tick(pool, datetime(2026, 6, 2, tzinfo=UTC))
    await _drain(pool, policy)
    assert len(await _events(pool, "CreditIssued")) == 1
    assert len(await _events(pool, "CreditDebited")) == 2
    async with pool.acquire() as conn:
        totals = await conn.fetchval(
            "SELECT sum(amount) FROM spend_limit_debits WHERE customer_id = 'acme'"
        )
    assert str(totals) == "102.000000"  # credits do not lower what the spend limit counts


async def test_an_end_known_before_the_period_cuts_its_debit(pool: Any) -> None:
    assigned = _assigned("acme", "pbx-seat", "2026-04-10", quantity=2, end_date=date(2026, 5, 19))
    await _setup(pool, _pbx(), assigned)
    await _tick(pool, datetime(2026, 6, 1, tzinfo=UTC))
    await _drain(pool, Policy())
    debits = await _events(pool, "CreditDebited")
    assert [(d["period_start"], d["period_end"], d["amount"]) for d in debits] == [
        ("2026-04-10", "2026-05-01", "42.000000"),
        ("2026-05-01", "2026-05-20", "36.774194"),
    ]
    assert await _events(pool, "CreditIssued") == []
