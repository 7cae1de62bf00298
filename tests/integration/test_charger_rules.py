"""The two rules the charger keeps in SQL, each stated once (docs/contract.md §5) and tested here
against PostgreSQL through the repository: what counts toward a spend limit
(`spend_limit_debits`) and which usage counts toward a minimum spend (`MINIMUM_SPEND_USAGE`)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from charger.adapters.ledger import LedgerRepository
from charger.adapters.projections import ProjectionRepository
from charger.bootstrap import MIGRATIONS
from charger.domain.charge_run import LedgerRow
from pkgcontract.messages import UsageRated
from pkgshared.db import SHARED_MIGRATIONS, migrate


async def _repository_on(pool: Any) -> None:
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)


async def test_a_spend_limit_counts_charged_debits_by_the_month_of_their_period(
    pool: Any,
) -> None:
    await _repository_on(pool)
    a = uuid.uuid4()
    jan, feb = date(2026, 1, 1), date(2026, 2, 1)

    def row(key: str, kind: str, status: str, day: date, amount: str | None, cur: str = "GBP"):
        money = Decimal(amount) if amount is not None else None
        minutes = 100 if kind == "grant" else None
        return LedgerRow(key, "c", a, kind, status, day, money, cur, minutes, "scheduled")

    async with pool.acquire() as conn, conn.transaction():
        repository = LedgerRepository(conn)
        await repository.record(
            [
                row("recurring", "recurring", "charged", jan, "10.00"),
                row("setup", "setup", "charged", date(2026, 1, 20), "5.00"),
                row("minimum", "minimum_spend", "charged", jan, "2.00"),
                row("grant", "grant", "charged", jan, None),
                row("declined", "recurring", "declined", jan, "7.00"),
                row("covered", "minimum_spend", "covered", jan, "0"),
                row("february", "recurring", "charged", feb, "3.00"),
                row("dollars", "recurring", "charged", jan, "4.00", "USD"),
            ]
        )
        totals = (await repository.month_totals(["c"]))["c"]
    assert totals.get("GBP", jan) == Decimal("17.00")  # charged debits of January, any kind
    assert totals.get("GBP", feb) == Decimal("3.00")
    assert totals.get("USD", jan) == Decimal("4.00")  # each currency on its own


async def test_a_minimum_spend_counts_the_customers_usage_in_its_currency_and_window(
    pool: Any,
) -> None:
    await _repository_on(pool)
    start, stop = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)

    def call(
        amount: str,
        at: datetime,
        customer: str = "c",
        did: str | None = "441000000001",
        currency: str = "GBP",
    ) -> UsageRated:
        return UsageRated(
            usage_id=uuid.uuid4(),
            customer_id=customer,
            did=did,
            amount=Decimal(amount),
            currency=currency,
            occurred_at=at,
        )

    inside = datetime(2026, 1, 15, tzinfo=UTC)
    async with pool.acquire() as conn, conn.transaction():
        await ProjectionRepository(conn).add_usage(
            [
                call("1.00", start),  # counts: the first instant of the window
                call("2.00", inside, did="441000000002"),  # another DID of the customer
                call("4.00", inside, did=None),  # usage with no DID
                call("8.00", stop),  # not: the window ends before `stop`
                call("16.00", datetime(2025, 12, 31, 23, 59, tzinfo=UTC)),  # not: before it
                call("32.00", inside, currency="USD"),  # not: another currency
                call("64.00", inside, customer="other"),  # not: another customer
            ]
        )
        customer_level, did_level = await LedgerRepository(conn).spends(
            [("c", None, "GBP", start, stop), ("c", "441000000001", "GBP", start, stop)]
        )
    assert customer_level == Decimal("7.00")  # 1 + 2 + 4: every DID of the customer
    assert did_level == Decimal("1.00")  # a DID-level assignment: its DID's usage only
