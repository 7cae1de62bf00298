"""docs/contract.md §7's worked example end to end through Kafka, both ways round: the end date
read after the May debit (a CreditIssued), and read before the May tick (May debited for 19
days). A RunPackage of a prorated assignment reports the part-period's end."""

from __future__ import annotations

import pytest

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario

pytestmark = pytest.mark.e2e

PBX = {
    "kind": "recurring",
    "retail": "30.00",
    "currency": "USD",
    "frequency": "monthly",
    "frequency_match": [1],
    "proration": "daily",
}


async def _end(s: Scenario, aid: str, end_date: str) -> None:
    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "EndAssignment",
        s.customer,
        assignment_id=aid,
        end_date=end_date,
    )
    await s.wait(1, event_type="AssignmentEnded", assignment_id=aid)


async def test_the_worked_example_end_read_after_the_may_debit(charging: Scenario) -> None:
    s = charging
    pbx = await s.define(**PBX)
    assert pbx["proration"] == "daily"
    aid = await s.assign(pbx["package_id"], quantity=2, start_date="2026-04-10", timezone="UTC")
    await s.settle("2026-04-10T00:00:01Z")
    await s.settle("2026-05-01T00:00:01Z")
    debits = s.of("CreditDebited", assignment_id=aid)
    assert [
        (d["period_start"], d["period_end"], d["amount"], d["charged_days"], d["period_days"])
        for d in debits
    ] == [
        ("2026-04-10", "2026-05-01", "42.000000", 21, 30),
        ("2026-05-01", "2026-06-01", "60.00", None, None),
    ]
    await _end(s, aid, "2026-05-19")
    [credit] = await s.wait(1, event_type="CreditIssued", assignment_id=aid)
    assert (credit["credited_from"], credit["credited_days"], credit["amount"]) == (
        "2026-05-20",
        12,
        "23.225806",
    )
    assert credit["debit_id"] == debits[1]["debit_id"] and credit["currency"] == "USD"
    await s.settle("2026-06-02T00:00:00Z")  # nothing after the end
    assert len(s.of("CreditDebited", assignment_id=aid)) == 2
    assert len(s.of("CreditIssued", assignment_id=aid)) == 1


async def test_the_worked_example_end_read_before_the_may_tick(charging: Scenario) -> None:
    s = charging
    pbx = await s.define(**PBX)
    aid = await s.assign(pbx["package_id"], quantity=2, start_date="2026-04-10", timezone="UTC")
    await s.settle("2026-04-10T00:00:01Z")
    await _end(s, aid, "2026-05-19")
    await s.settle("2026-05-01T00:00:01Z")
    debits = s.of("CreditDebited", assignment_id=aid)
    assert [(d["period_start"], d["period_end"], d["amount"]) for d in debits] == [
        ("2026-04-10", "2026-05-01", "42.000000"),
        ("2026-05-01", "2026-05-20", "36.774194"),
    ]
    assert s.of("CreditIssued", assignment_id=aid) == []
    request = await s.send(
        topics.CHARGER_COMMANDS,
        "RunPackage",
        s.customer,
        request_id="0b6f5a52-51d6-4a45-9d4c-6a8e1c0e3f10",
        customer_id=s.customer,
        date="2026-05-31",
        simulate=True,
        correlation_id="run-1",
    )
    [report] = await s.wait(1, event_type="PackageRunReported", request_id=request["request_id"])
    lines = [(line["period_start"], line["period_end"], line["status"]) for line in report["lines"]]
    assert lines == [
        ("2026-04-10", "2026-05-01", "already_charged"),
        ("2026-05-01", "2026-05-20", "already_charged"),
    ]
