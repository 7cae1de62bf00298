"""Top-ups (docs/contract.md §4 GrantMinutes) and reversed usage (§4 UsageReversed) in the charger
against PostgreSQL: a top-up is kept until a tick reaches its valid_from and made before that
tick's ChargesSettled, at once when the clock has passed it, once per topup_id whatever is
sent again, declined by the spend limit without a grant; a reversal takes a record out of a
minimum spend not charged yet. Driven through the handlers and the worker's `drain`, events
read back from the outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from charger import views
from charger.adapters.clock import ClockRepository
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.bootstrap import MIGRATIONS
from charger.domain.catch_up import Policy
from charger.service_layer import handlers
from charger.service_layer.charge_due import charge_due
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.handlers import handle_events
from pkgcontract.messages import (
    GrantMinutes,
    Message,
    SpendLimitSet,
    UsageRated,
    UsageReversed,
)
from pkgshared.db import SHARED_MIGRATIONS, migrate
from pkgshared.failures import Tries
from tests.charger_builders import minimum_spend

T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)


class _Open:
    async def check(self, _id: object, _positions: object) -> None:
        pass


async def _setup(pool: Any, *events: Message) -> None:
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    await _project(pool, *events)


async def _project(pool: Any, *events: Message) -> None:
    uow = ChargerUnitOfWork(pool)
    async with uow:
        await handle_events(list(events), uow)
        await uow.commit()


async def _command(pool: Any, cmd: GrantMinutes) -> None:
    uow = ChargerUnitOfWork(pool)
    async with uow:
        await handlers.handle_command(cmd, uow, Dependencies(inputs=_Open(), policy=Policy()))  # type: ignore[arg-type]
        await uow.commit()


async def _tick_and_drain(pool: Any, at: datetime) -> None:
    async with pool.acquire() as conn, conn.transaction():
        assert await ClockRepository(conn).advance_clock(at, uuid.uuid4())
    await charge_due(partial(ChargerUnitOfWork, pool), Dependencies(policy=Policy()))


async def _events(pool: Any, *event_types: str) -> list[dict[str, Any]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT e.payload FROM outbox_batches b, "
            "unnest(b.event_types, b.payloads) WITH ORDINALITY AS e(event_type, payload, n) "
            "WHERE e.event_type = ANY($1::text[]) ORDER BY b.id, e.n",
            list(event_types),
        )
    return [json.loads(r["payload"]) for r in rows]


def _topup(topup_id: uuid.UUID | None = None, **extra: Any) -> GrantMinutes:
    fields: dict[str, Any] = {
        "topup_id": topup_id or uuid.uuid4(),
        "customer_id": "acme",
        "minutes": 90,
        "valid_from": T0,
        "valid_until": T0 + timedelta(days=7),
        **extra,
    }
    return GrantMinutes(event_id=uuid.uuid4(), **fields)


async def test_a_top_up_is_made_by_the_tick_that_reaches_it_before_its_settle(pool: Any) -> None:
    await _setup(pool)
    cmd = _topup(retail="2.50", currency="GBP")
    await _command(pool, cmd)
    await _command(pool, _topup(cmd.topup_id, retail="2.50", currency="GBP"))  # sent again
    await _tick_and_drain(pool, T0 - timedelta(minutes=1))
    assert [
        e["event_type"] for e in await _events(pool, "FreeMinutesGranted", "ChargesSettled")
    ] == [
        "ChargesSettled"  # settled without it: not due yet
    ]
    await _tick_and_drain(pool, T0)
    order = await _events(pool, "CreditDebited", "FreeMinutesGranted", "ChargesSettled")
    assert [e["event_type"] for e in order] == [
        "ChargesSettled",
        "CreditDebited",
        "FreeMinutesGranted",
        "ChargesSettled",  # the tick that reached it settles after it
    ]
    debit, grant = order[1], order[2]
    assert debit["kind"] == "topup" and debit["topup_id"] == str(cmd.topup_id)
    assert debit["assignment_id"] is None and debit["period_start"] == "2026-03-10"
    assert grant["topup_id"] == str(cmd.topup_id) and grant["minutes"] == 90
    # Made once: later ticks, a restarted worker and the command again make nothing.
    await _command(pool, _topup(cmd.topup_id, retail="2.50", currency="GBP"))
    await _tick_and_drain(pool, T0 + timedelta(days=1))
    assert len(await _events(pool, "FreeMinutesGranted", "CreditDebited")) == 2
    async with pool.acquire() as conn:
        keys = await conn.fetch("SELECT charge_key, status FROM ledger ORDER BY charge_key")
        view = await views.customer_charges(conn, "acme", None, None, 100, None)
    assert [(r["charge_key"], r["status"]) for r in keys] == [
        (f"debit:topup:{cmd.topup_id}", "charged"),
        (f"grant:topup:{cmd.topup_id}", "charged"),
    ]
    assert [(t.topup_id, t.status) for t in view.topups] == [(cmd.topup_id, "granted")]
    assert {c.topup_id for c in view.charges.items} == {cmd.topup_id}
    assert view.month_to_date[0].charged == Decimal("2.50")


async def test_a_top_up_read_after_the_clock_passed_it_is_made_at_once(pool: Any) -> None:
    await _setup(pool)
    await _tick_and_drain(pool, T0 + timedelta(hours=1))
    cmd = _topup()
    await _command(pool, cmd)  # no tick after it
    [grant] = await _events(pool, "FreeMinutesGranted")
    assert grant["topup_id"] == str(cmd.topup_id)
    assert await _events(pool, "CreditDebited") == []  # no retail: a grant alone
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT next_due_at FROM customers") is None


async def test_a_top_up_over_the_spend_limit_is_declined_and_grants_nothing(pool: Any) -> None:
    limit = SpendLimitSet(customer_id="acme", monthly_limit="5.00", currency="GBP")
    await _setup(pool, limit)
    cmd = _topup(retail="5.01", currency="GBP")
    await _command(pool, cmd)
    await _tick_and_drain(pool, T0)
    [declined] = await _events(pool, "ChargeDeclined")
    assert declined["kind"] == "topup" and declined["topup_id"] == str(cmd.topup_id)
    assert declined["assignment_id"] is None
    assert await _events(pool, "FreeMinutesGranted", "CreditDebited") == []
    await _project(pool, SpendLimitSet(customer_id="acme", monthly_limit=None, currency="GBP"))
    await _tick_and_drain(pool, T0 + timedelta(days=1))  # a declined top-up stays declined
    assert await _events(pool, "FreeMinutesGranted") == []
    assert len(await _events(pool, "ChargeDeclined")) == 1


async def test_a_reversed_record_leaves_a_minimum_spend_not_charged_yet(pool: Any) -> None:
    package, assigned = minimum_spend()

    def usage(amount: str, month: int) -> UsageRated:
        return UsageRated(
            usage_id=uuid.uuid4(),
            customer_id="acme",
            amount=amount,
            currency="GBP",
            occurred_at=datetime(2026, month, 5, tzinfo=UTC),
        )

    def reversal(u: UsageRated) -> UsageReversed:
        return UsageReversed(reversal_id=uuid.uuid4(), usage_id=u.usage_id, customer_id="acme")

    jan, jan_reversed, feb = usage("3.00", 1), usage("4.00", 1), usage("6.00", 2)
    await _setup(pool, package, assigned, jan, jan_reversed, reversal(jan_reversed), feb)
    await _project(pool, reversal(usage("1.00", 1)))  # a record never read: nothing
    await _tick_and_drain(pool, datetime(2026, 3, 1, tzinfo=UTC))
    # February's record is reversed after February was charged: it changes nothing.
    await _project(pool, reversal(feb))
    await _tick_and_drain(pool, datetime(2026, 3, 2, tzinfo=UTC))
    debits = await _events(pool, "CreditDebited")
    assert [(d["period_start"], d["amount"]) for d in debits] == [
        ("2026-01-01", "7.00"),  # 10 - 3: the reversed 4.00 does not count
        ("2026-02-01", "4.00"),
    ]
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM usage WHERE reversed_by IS NOT NULL") == 2
    # A reversal_id read before is ignored, whatever it names (§4: a repeat is ignored).
    march = usage("5.00", 3)
    first = reversal(march)
    await _project(pool, first, march)  # read before its record: found nothing
    await _project(pool, first.model_copy(update={"event_id": uuid.uuid4()}))  # a new message
    async with pool.acquire() as conn:
        reversed_march = await conn.fetchval(
            "SELECT reversed_by FROM usage WHERE usage_id = $1", march.usage_id
        )
    assert reversed_march is None


async def test_a_top_up_that_fails_on_every_try_is_set_aside_and_the_tick_settles(
    pool: Any,
) -> None:
    await _setup(pool)
    broken, fine = _topup(), _topup(customer_id="other")
    await _command(pool, broken)
    await _command(pool, fine)
    async with pool.acquire() as conn:  # a stored command that no longer reads
        await conn.execute(
            "UPDATE topups SET command = jsonb_set(command, '{minutes}', '0') WHERE topup_id = $1",
            broken.topup_id,
        )
        assert await ClockRepository(conn).advance_clock(T0, uuid.uuid4())
    tries = Tries(attempts=2, first_retry_seconds=0.01, most_seconds=0.01)
    await charge_due(partial(ChargerUnitOfWork, pool), Dependencies(policy=Policy(), tries=tries))
    [grant] = await _events(pool, "FreeMinutesGranted")
    assert grant["topup_id"] == str(fine.topup_id)
    assert len(await _events(pool, "ChargesSettled")) == 1
    async with pool.acquire() as conn:
        status = await conn.fetchval(
            "SELECT status FROM topups WHERE topup_id = $1", broken.topup_id
        )
        due = await conn.fetchval("SELECT next_due_at FROM customers WHERE customer_id = 'acme'")
    assert (status, due) == ("failed", None)
