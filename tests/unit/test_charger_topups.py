"""Top-ups (docs/contract.md §4 GrantMinutes) and reversed usage (§4 UsageReversed) in the charger,
with in-memory fakes: a top-up is due at valid_from (made by the first tick that reaches it,
or at once when the clock has passed it), exactly once per topup_id, its debit subject to the
spend limit; a reversal takes a record's amount out of a minimum spend not charged yet."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from charger.domain.catch_up import Policy
from charger.domain.charge_run import Made
from charger.service_layer import handlers, ticks
from charger.service_layer.charging import charge_batch
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.handlers import handle_events
from pkgcontract.messages import (
    ClockTicked,
    GrantMinutes,
    PackageAssigned,
    PackageDefined,
    SpendLimitSet,
    UsageRated,
    UsageReversed,
    natural_event_id,
)
from tests.charger_builders import minimum_spend
from tests.unit.fakes.charger import FakeUnitOfWork

T0 = datetime(2026, 3, 10, 12, tzinfo=UTC)


class _Open:
    async def check(self, _id: object, _positions: object) -> None:
        pass


async def _tick(uow: FakeUnitOfWork, at: datetime) -> Made:
    tick = ClockTicked(tick_id=uuid.uuid4(), at=at)
    assert await ticks.accept_tick(tick, uow, Dependencies(inputs=_Open()))  # type: ignore[arg-type]
    made = Made()
    while claimed := await uow.ledger.claim_due_customers(at, 100):
        batch, _ = await charge_batch(claimed, uow, Policy(), at, tick.tick_id)
        made.add(batch)
    return made


def _topup(topup_id: uuid.UUID | None = None, **extra: Any) -> GrantMinutes:
    fields: dict[str, Any] = {
        "topup_id": topup_id or uuid.uuid4(),
        "customer_id": "acme",
        "minutes": 120,
        "destination_prefixes": ["44"],
        "valid_from": T0,
        "valid_until": T0 + timedelta(days=30),
        "notify_at_percent": [90, 50],
        **extra,
    }
    return GrantMinutes(event_id=uuid.uuid4(), **fields)


async def _command(uow: FakeUnitOfWork, cmd: GrantMinutes) -> None:
    await handlers.handle_command(cmd, uow, Dependencies(inputs=_Open(), policy=Policy()))  # type: ignore[arg-type]


async def test_a_top_up_is_made_by_the_first_tick_that_reaches_its_valid_from() -> None:
    uow = FakeUnitOfWork()
    cmd = _topup(retail="4.50", currency="GBP", reason="goodwill")
    await _command(uow, cmd)
    assert uow.emitted == []  # no clock yet: not due
    assert uow.tables.customers["acme"].due == T0  # the tick that reaches it will claim it

    assert await _tick(uow, T0 - timedelta(seconds=1)) == Made()
    assert uow.emitted == []
    made = await _tick(uow, T0)
    assert (made.charged, made.grants) == (1, 1)
    [debit] = uow.events("CreditDebited")
    [grant] = uow.events("FreeMinutesGranted")
    # The debit goes before the grant.
    assert [t for _, _, t, _ in uow.emitted] == ["CreditDebited", "FreeMinutesGranted"]
    key = f"topup:{cmd.topup_id}"
    assert debit["event_id"] == debit["debit_id"] == str(natural_event_id("debit:" + key))
    assert debit["kind"] == "topup" and debit["reason"] == "scheduled"
    assert debit["amount"] == "4.50" and debit["currency"] == "GBP"
    assert debit["period_start"] == debit["period_end"] == "2026-03-10"
    assert debit["assignment_id"] is None and debit["package_id"] is None
    assert debit["package_version"] is None and debit["topup_id"] == str(cmd.topup_id)
    assert grant["grant_id"] == grant["event_id"] == str(natural_event_id("grant:" + key))
    assert grant["assignment_id"] is None and grant["package_id"] is None
    assert grant["topup_id"] == str(cmd.topup_id) and grant["minutes"] == 120
    assert grant["destination_prefixes"] == ["44"] and grant["notify_at_percent"] == [50, 90]
    assert grant["valid_from"] == "2026-03-10T12:00:00Z"
    assert grant["valid_until"] == "2026-04-09T12:00:00Z"
    assert (grant["rollover_percent"], grant["rollover_days"]) == (0, None)
    assert uow.tables.customers["acme"].due is None  # nothing else due
    assert await _tick(uow, T0 + timedelta(days=1)) == Made()  # once


async def test_a_top_up_read_after_the_clock_passed_it_is_made_at_once() -> None:
    uow = FakeUnitOfWork()
    await _tick(uow, T0 + timedelta(hours=1))
    cmd = _topup()  # no retail: a grant alone
    await _command(uow, cmd)
    assert uow.events("CreditDebited") == []
    [grant] = uow.events("FreeMinutesGranted")
    assert grant["topup_id"] == str(cmd.topup_id)
    assert uow.tables.customers["acme"].due is None


async def test_a_free_top_up_with_retail_zero_makes_no_debit() -> None:
    uow = FakeUnitOfWork()
    await _tick(uow, T0)
    await _command(uow, _topup(retail="0", currency="GBP"))
    assert uow.events("CreditDebited") == []
    assert len(uow.events("FreeMinutesGranted")) == 1


async def test_a_top_up_over_the_spend_limit_is_declined_and_grants_nothing() -> None:
    uow = FakeUnitOfWork()
    limit = SpendLimitSet(customer_id="acme", monthly_limit="5.00", currency="GBP")
    await handle_events([limit], uow)
    first, second = _topup(retail="3.00", currency="GBP"), _topup(retail="3.00", currency="GBP")
    await _command(uow, first)
    await _command(uow, second)
    made = await _tick(uow, T0)
    assert (made.charged, made.grants, made.declined) == (1, 1, 1)
    # In (valid_from, topup_id) order: the first made takes the month to 3.00; the other
    # would take it to 6.00.
    made_first, declined_one = sorted([first, second], key=lambda c: str(c.topup_id))
    [declined] = uow.events("ChargeDeclined")
    assert declined["event_id"] == str(natural_event_id(f"declined:topup:{declined_one.topup_id}"))
    assert declined["kind"] == "topup" and declined["assignment_id"] is None
    assert declined["topup_id"] == str(declined_one.topup_id)
    assert declined["amount"] == "3.00" and declined["reason"] == "spend_limit_exceeded"
    [grant] = uow.events("FreeMinutesGranted")
    assert grant["topup_id"] == str(made_first.topup_id)
    # A declined top-up stays declined: a later tick (or limit) does not grant it.
    await handle_events(
        [SpendLimitSet(customer_id="acme", monthly_limit=None, currency="GBP")], uow
    )
    assert await _tick(uow, T0 + timedelta(days=2)) == Made()


async def test_a_top_up_counts_toward_the_spend_limit_of_later_charges() -> None:
    uow = FakeUnitOfWork()
    package = PackageDefined(
        package_id="daily-gbp",
        version=1,
        name="d",
        kind="recurring",
        retail="2.00",
        currency="GBP",
        frequency="daily",
        frequency_match=[],
        effective_from=None,
    )
    assigned = PackageAssigned(
        assignment_id=uuid.uuid4(),
        customer_id="acme",
        package_id=package.package_id,
        package_version=1,
        quantity=1,
        start_date="2026-03-11",
        auto_decrement_credit=True,
        timezone="UTC",
    )
    limit = SpendLimitSet(customer_id="acme", monthly_limit="5.00", currency="GBP")
    await handle_events([package, assigned, limit], uow)
    await _command(uow, _topup(retail="4.00", currency="GBP"))
    await _tick(uow, T0)
    assert len(uow.events("CreditDebited")) == 1  # the top-up
    await _tick(uow, datetime(2026, 3, 11, tzinfo=UTC))
    [declined] = uow.events("ChargeDeclined")  # 4.00 + 2.00 > 5.00
    assert declined["assignment_id"] == str(assigned.assignment_id)


async def test_the_same_top_up_twice_grants_once_whatever_its_command_id() -> None:
    uow = FakeUnitOfWork()
    topup_id = uuid.uuid4()
    await _command(uow, _topup(topup_id, retail="1.00", currency="GBP"))
    await _command(uow, _topup(topup_id, retail="1.00", currency="GBP"))  # another event_id
    await _tick(uow, T0)
    await _command(uow, _topup(topup_id, retail="1.00", currency="GBP"))  # after it was made
    await _command(uow, _topup(topup_id, minutes=999))  # another body, the same top-up
    assert len(uow.events("FreeMinutesGranted")) == 1
    assert len(uow.events("CreditDebited")) == 1
    assert await _tick(uow, T0 + timedelta(days=3)) == Made()


async def test_a_later_top_up_keeps_the_customer_due_after_an_earlier_one() -> None:
    uow = FakeUnitOfWork()
    later = _topup(valid_from=T0 + timedelta(days=5), valid_until=T0 + timedelta(days=9))
    await _command(uow, later)
    await _command(uow, _topup())
    assert uow.tables.customers["acme"].due == T0
    await _tick(uow, T0 + timedelta(days=1))
    assert len(uow.events("FreeMinutesGranted")) == 1
    assert uow.tables.customers["acme"].due == T0 + timedelta(days=5)
    await _tick(uow, T0 + timedelta(days=5))
    assert len(uow.events("FreeMinutesGranted")) == 2


async def test_a_package_grant_carries_the_versions_rollover_terms() -> None:
    uow = FakeUnitOfWork()
    package = PackageDefined(
        package_id="fm",
        version=1,
        name="fm",
        kind="free_minutes",
        retail="0",
        currency="GBP",
        frequency="monthly",
        frequency_match=[1],
        free_minutes=100,
        rollover_percent=50,
        rollover_days=30,
        notify_at_percent=[80],
        effective_from=None,
    )
    assigned = PackageAssigned(
        assignment_id=uuid.uuid4(),
        customer_id="acme",
        package_id="fm",
        package_version=1,
        quantity=1,
        start_date="2026-01-01",
        auto_decrement_credit=True,
        timezone="UTC",
    )
    await handle_events([package, assigned], uow)
    await _tick(uow, datetime(2026, 1, 2, tzinfo=UTC))
    [grant] = uow.events("FreeMinutesGranted")
    assert (grant["rollover_percent"], grant["rollover_days"], grant["topup_id"]) == (50, 30, None)
    assert grant["notify_at_percent"] == [80]


# ---------------------------------------------------------------- minimum spend and reversals


def _usage(amount: str, day: int = 5) -> UsageRated:
    return UsageRated(
        usage_id=uuid.uuid4(),
        customer_id="acme",
        amount=amount,
        currency="GBP",
        occurred_at=datetime(2026, 1, day, tzinfo=UTC),
    )


def _reversal(u: UsageRated, customer: str = "acme") -> UsageReversed:
    return UsageReversed(reversal_id=uuid.uuid4(), usage_id=u.usage_id, customer_id=customer)


async def _january_debit(uow: FakeUnitOfWork) -> Decimal | None:
    await _tick(uow, datetime(2026, 2, 1, tzinfo=UTC))
    debits = [d for d in uow.events("CreditDebited") if d["period_start"] == "2026-01-01"]
    return Decimal(debits[0]["amount"]) if debits else None


async def test_a_reversed_record_stops_counting_toward_a_minimum_spend_not_charged_yet() -> None:
    uow = FakeUnitOfWork()
    package, assigned = minimum_spend()
    kept, withdrawn = _usage("3.00"), _usage("4.00", day=6)
    await handle_events([package, assigned, kept, withdrawn, _reversal(withdrawn)], uow)
    assert await _january_debit(uow) == Decimal("7.00")  # 10 - 3: the 4.00 no longer counts


async def test_a_reversal_changes_nothing_for_a_period_already_charged() -> None:
    uow = FakeUnitOfWork()
    package, assigned = minimum_spend()
    u = _usage("4.00")
    await handle_events([package, assigned, u], uow)
    assert await _january_debit(uow) == Decimal("6.00")
    await handle_events([_reversal(u)], uow)
    await _tick(uow, datetime(2026, 2, 2, tzinfo=UTC))
    assert [d["amount"] for d in uow.events("CreditDebited")] == ["6.00"]


async def test_a_reversal_of_a_record_not_read_another_customers_or_twice_changes_nothing() -> None:
    uow = FakeUnitOfWork()
    package, assigned = minimum_spend()
    early, other, twice = _usage("1.00"), _usage("2.00"), _usage("3.00")
    # In the customer's order: a reversal read before its record changes nothing, so the
    # record counts; a reversal naming another customer changes nothing either.
    await handle_events([package, assigned, _reversal(early), early], uow)
    await handle_events([other, _reversal(other, customer="someone-else")], uow)
    first = _reversal(twice)
    await handle_events([twice, first, first, _reversal(twice)], uow)
    await handle_events([twice], uow)  # the record redelivered stays reversed
    assert await _january_debit(uow) == Decimal("7.00")  # 10 - (1 + 2)


async def test_a_repeated_reversal_id_is_ignored_whatever_record_it_names() -> None:
    """docs/contract.md §4 UsageReversed: "reversal_id (UUID; a repeat is ignored)". The first
    reversal of an id found nothing (its record was not read yet); the same id again, naming
    another record, takes nothing back, in another batch or in the same one."""
    uow = FakeUnitOfWork()
    package, assigned = minimum_spend()
    early, named_later, same_batch = _usage("1.00"), _usage("2.00", day=6), _usage("3.00", day=7)
    first = _reversal(early)
    await handle_events([package, assigned, first, early, named_later, same_batch], uow)
    # Each repeat is a new message (its own event_id) carrying a reversal_id read before.
    again = first.model_copy(update={"usage_id": named_later.usage_id, "event_id": uuid.uuid4()})
    twin = _reversal(same_batch)
    twin_again = twin.model_copy(update={"usage_id": early.usage_id, "event_id": uuid.uuid4()})
    await handle_events([again, twin, twin_again], uow)
    # 10 - (1 + 2): only same_batch's 3.00 was taken back, by the first copy of `twin`.
    assert await _january_debit(uow) == Decimal("7.00")
