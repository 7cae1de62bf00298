"""Money at the top of its range, a daily package ended early and a declined setup, end to end
through Kafka (docs/contract.md §2, §5, §7), each with another customer's valid work sent
right behind it, which must be answered in its normal time."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pkgcontract import topics
from pkgtools.testing.kafka import TopicReader
from pkgtools.testing.scenario import Scenario

pytestmark = pytest.mark.e2e

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
NORMAL = 10.0
"""Seconds within which another customer's valid assignment is answered: it takes well under
one when nothing holds it, so this only fails when something does."""


def _valid(event: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / f"{event['event_type']}.json").read_text())
    jsonschema.validate(event, schema)


async def _other_customer_answered(s: Scenario) -> float:
    """Another customer's valid AssignPackage, sent now: seconds until its PackageAssigned."""
    package = await s.define()
    sent = time.monotonic()
    await s.assign(package["package_id"], customer=f"other-{uuid.uuid4().hex[:8]}")
    return time.monotonic() - sent


async def _rejected(s: Scenario, command: dict[str, Any]) -> dict[str, Any]:
    [rejection] = await s.wait(1, event_type="CommandRejected", command_id=command["event_id"])
    return rejection


async def test_money_at_the_top_of_its_range_is_exact_and_over_it_is_refused(
    charging: Scenario,
) -> None:
    s = charging
    top = "9999999999.999999"  # 10 digits before the point: the most a command may carry
    package = await s.define(
        retail=top, cost=top, setup_retail=top, setup_cost=top, frequency_match=[1]
    )
    aid = await s.assign(package["package_id"], quantity=100_000, start_date="2026-03-01")

    too_big = await s.send(
        topics.CATALOG_COMMANDS,
        "DefinePackage",
        "too-big",
        package_id="too-big",
        name="too big",
        kind="recurring",
        retail="10000000000.00",  # 11 digits
        currency="GBP",
        frequency="monthly",
        frequency_match=[1],
    )
    limit = await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "SetSpendLimit",
        s.customer,
        customer_id=s.customer,
        monthly_limit="12345678901",
        currency="GBP",
    )
    assert await _other_customer_answered(s) < NORMAL
    for command, field in ((too_big, "retail"), (limit, "monthly_limit")):
        rejection = await _rejected(s, command)
        assert field in {e["field"] for e in rejection["errors"]}, rejection

    await s.settle("2026-03-01T00:00:01Z")
    debits = {d["kind"]: d for d in s.of("CreditDebited", assignment_id=aid)}
    product = Decimal(top) * 100_000  # exact: Python's default context holds 22 digits
    assert product == Decimal("999999999999999.9")
    for kind in ("setup", "recurring"):
        debit = debits[kind]
        assert Decimal(debit["amount"]) == product and Decimal(debit["cost"]) == product
        assert "E" not in debit["amount"].upper()
        _valid(debit)


async def test_a_daily_package_ended_early_is_credited_day_by_day(charging: Scenario) -> None:
    s = charging
    daily = await s.define(frequency="daily", frequency_match=[], proration="daily")
    aid = await s.assign(daily["package_id"], start_date="2026-01-01")
    await s.settle("2026-01-10T00:00:01Z")
    assert len(s.of("CreditDebited", assignment_id=aid)) == 10  # 01-01 to 01-10

    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "EndAssignment",
        s.customer,
        assignment_id=aid,
        end_date="2026-01-05",
    )
    assert await _other_customer_answered(s) < NORMAL
    credits = await s.wait(5, event_type="CreditIssued", assignment_id=aid)
    assert sorted((c["period_start"], c["credited_days"], c["amount"]) for c in credits) == [
        (f"2026-01-{day:02d}", 1, "1.000000") for day in range(6, 11)
    ]
    for credit in credits:
        _valid(credit)


async def test_a_declined_setup_keeps_the_first_periods_minutes(charging: Scenario) -> None:
    s = charging
    package = await s.define(
        kind="free_minutes",
        retail="5.00",
        setup_retail="50.00",
        free_minutes=100,
        frequency_match=[1],
    )
    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "SetSpendLimit",
        s.customer,
        customer_id=s.customer,
        monthly_limit="20.00",
        currency="GBP",
    )
    await s.wait(1, event_type="SpendLimitSet", customer_id=s.customer)
    aid = await s.assign(package["package_id"], start_date="2026-02-01")
    assert await _other_customer_answered(s) < NORMAL
    await s.settle("2026-02-01T00:00:01Z")
    [declined] = s.of("ChargeDeclined", assignment_id=aid)
    assert declined["kind"] == "setup"
    [debit] = s.of("CreditDebited", assignment_id=aid)
    assert (debit["kind"], debit["period_start"], debit["amount"]) == (
        "recurring",
        "2026-02-01",
        "5.00",
    )
    [grant] = s.of("FreeMinutesGranted", assignment_id=aid)
    assert grant["minutes"] == 100 and grant["valid_from"].startswith("2026-02-01")


async def test_a_usage_amount_over_the_bound_is_dead_lettered(
    charging: Scenario, kafka_bootstrap: str
) -> None:
    s = charging
    usage_id = str(uuid.uuid4())
    await s.send(
        topics.USAGE_RATED,
        "UsageRated",
        s.customer,
        usage_id=usage_id,
        customer_id=s.customer,
        amount="10000000000",
        currency="GBP",
        occurred_at="2026-02-02T10:00:00Z",
    )
    assert await _other_customer_answered(s) < NORMAL
    async with TopicReader(kafka_bootstrap, s.system.topic(topics.USAGE_RATED + ".dlq")) as dlq:
        [letter] = await dlq.wait_count(1, timeout=60, event_type="DeadLetter")
    dead = json.loads(letter.value)
    assert "10 digits" in dead["error"], dead["error"]
