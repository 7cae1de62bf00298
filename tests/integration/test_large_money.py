"""The largest money the contract lets in, charged through PostgreSQL (docs/contract.md §2): the
maximum retail (10 digits before the point, 6 after) times the maximum quantity is debited
exactly; a RunPackage over many periods, part-periods included, reports the exact total; the
read API's month-to-date sums it exactly. Every event as published passes its JSON schema."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from charger import views
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.domain.catch_up import Policy
from charger.service_layer import runs
from charger.service_layer.dependencies import Dependencies
from pkgcontract.messages import PackageDefined, RunPackage
from pkgshared.barrier import InputsBarrier
from tests.integration.test_catch_up import _assigned, _drain, _events, _setup, _tick

ROOT = Path(__file__).resolve().parents[2]
RETAIL = "9999999999.999999"
QUANTITY = 100_000


def _validator(message_type: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "docs" / "schemas" / f"{message_type}.json").read_text())
    return Draft202012Validator(schema)


def _half_even(value: Fraction) -> Fraction:
    scaled = value * 10**6
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2):
        floor += 1
    return Fraction(floor, 10**6)


def _package(package_id: str, frequency: str, match: list[int], **extra: Any) -> PackageDefined:
    return PackageDefined(
        package_id=package_id,
        version=1,
        name=package_id,
        kind="recurring",
        retail=RETAIL,
        cost=RETAIL,
        currency="GBP",
        frequency=frequency,
        frequency_match=match,
        effective_from=None,
        **extra,
    )


async def _run(pool: Any, customer: str, day: date, simulate: bool) -> dict[str, Any]:
    async def none() -> dict[tuple[str, int], int]:
        return {}

    cmd = RunPackage(request_id=uuid.uuid4(), customer_id=customer, date=day, simulate=simulate)
    uow = ChargerUnitOfWork(pool)
    async with uow:
        await runs.run_package(cmd, uow, Dependencies(inputs=InputsBarrier(none), policy=Policy()))
        await uow.commit()
    [report] = [
        r
        for r in await _events(pool, "PackageRunReported")
        if r["request_id"] == str(cmd.request_id)
    ]
    return report


async def test_the_largest_amounts_are_charged_reported_and_summed_exactly(pool: Any) -> None:
    per_period = Fraction(RETAIL) * QUANTITY  # 999999999999999.9: 15 digits before the point
    daily = _assigned("big", "daily-max", "2026-01-01", quantity=QUANTITY)
    prorated = _assigned("big", "monthly-max", "2026-01-10", quantity=QUANTITY)
    await _setup(
        pool,
        _package("daily-max", "daily", [], setup_retail=RETAIL, setup_cost=RETAIL),
        _package("monthly-max", "monthly", [1], proration="daily"),
        daily,
        prorated,
    )
    await _tick(pool, datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))
    await _drain(pool, Policy())

    debits = await _events(pool, "CreditDebited")
    assert sorted((d["kind"], d["amount"], d["cost"]) for d in debits) == [
        ("recurring", "999999999999999.900000", "999999999999999.900000"),
        ("setup", "999999999999999.900000", "999999999999999.900000"),
    ]
    schema = _validator("CreditDebited")
    for d in debits:
        schema.validate(d)

    # A simulated run to 20 January (as if a tick came at its end, midnight of the 21st): the
    # daily periods of 2 to 21 January (20) and the monthly package's part-period
    # [10 January, 1 February): 22 of January's 31 days.
    part = _half_even(per_period * 22 / 31)
    report = await _run(pool, "big", date(2026, 1, 20), simulate=True)
    _validator("PackageRunReported").validate(report)
    would = [x for x in report["lines"] if x["status"] == "would_charge"]
    assert len(would) == 21
    assert {Fraction(x["amount"]) for x in would} == {per_period, part}
    expected = per_period * 20 + part
    assert Fraction(report["totals"]["GBP"]) == expected
    assert re.fullmatch(r"[0-9]{17}\.[0-9]{6}", report["totals"]["GBP"])

    # For real: the same total, and the month-to-date of the read API sums all of January's.
    real = await _run(pool, "big", date(2026, 1, 20), simulate=False)
    assert real["totals"] == report["totals"]
    await _tick(pool, datetime(2026, 1, 21, 0, 0, 1, tzinfo=UTC))  # the month to the 21st
    await _drain(pool, Policy())
    debits = await _events(pool, "CreditDebited")
    assert len(debits) == 2 + 21  # the run made them all
    for d in debits:
        schema.validate(d)
    assert sum((Fraction(d["amount"]) for d in debits), Fraction(0)) == expected + 2 * per_period
    async with pool.acquire() as conn:
        shown = await views.customer_charges(conn, "big", None, date(2026, 1, 31), 100, None)
    [month] = shown.month_to_date
    written = json.loads(month.model_dump_json())
    assert Fraction(written["charged"]) == expected + 2 * per_period  # and the ticked two
    assert re.fullmatch(r"[0-9]{1,24}\.[0-9]{6}", written["charged"])
