"""Top-ups end to end (docs/contract.md §4 GrantMinutes): the services as processes, driven only
through Kafka. A top-up read before the tick that reaches its valid_from is made by that tick
(every charge of it is on its topic once ChargesSettled is); one read after the clock passed it
is made at once; a priced one over the spend limit is declined and grants nothing; the same
top-up sent again grants once."""

from __future__ import annotations

import re
import uuid

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario
from tests.e2e.cli import ok, pkgctl
from tests.e2e.test_read_api import get


def _natural(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "packages:" + key))


async def _handled(s: Scenario) -> None:
    """Every charger command of the customer sent so far has been handled: a command after
    them in the customer's partition (a release of an unknown assignment) is rejected."""
    marker = await s.send(
        topics.CHARGER_COMMANDS,
        "ReleaseHeldCharges",
        s.customer,
        customer_id=s.customer,
        assignment_id=str(uuid.uuid4()),
    )
    await s.wait(1, event_type="CommandRejected", command_id=marker["event_id"])


async def _topup(s: Scenario, topup_id: str, valid_from: str, **fields: object) -> None:
    await s.send(
        topics.CHARGER_COMMANDS,
        "GrantMinutes",
        s.customer,
        topup_id=topup_id,
        customer_id=s.customer,
        minutes=100,
        destination_prefixes=["44"],
        valid_from=valid_from,
        valid_until="2026-04-10T00:00:00Z",
        **fields,
    )


async def test_top_ups_before_and_after_the_tick_with_a_spend_limit(charging: Scenario) -> None:
    s = charging
    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "SetSpendLimit",
        s.customer,
        customer_id=s.customer,
        monthly_limit="5.00",
        currency="GBP",
    )
    await s.wait(1, event_type="SpendLimitSet", customer_id=s.customer)
    first, over, free = (str(uuid.uuid4()) for _ in range(3))
    # Before the tick: kept until a tick reaches valid_from (no clock yet).
    await _topup(s, first, "2026-03-10T12:00:00Z", retail="3.00", currency="GBP")
    await _topup(s, over, "2026-03-10T13:00:00Z", retail="3.00", currency="GBP")
    await _topup(s, first, "2026-03-10T12:00:00Z", retail="3.00", currency="GBP")  # again
    await _handled(s)
    assert s.of("FreeMinutesGranted", customer_id=s.customer) == []

    await s.settle("2026-03-11T00:00:00Z")
    # ChargesSettled read, the charge topics read to their end: the tick's top-ups are there.
    [debit] = s.of("CreditDebited", customer_id=s.customer)
    assert debit["debit_id"] == _natural(f"debit:topup:{first}")
    assert (debit["kind"], debit["amount"], debit["topup_id"]) == ("topup", "3.00", first)
    assert debit["assignment_id"] is None and debit["period_start"] == "2026-03-10"
    [grant] = s.of("FreeMinutesGranted", customer_id=s.customer)
    assert grant["grant_id"] == _natural(f"grant:topup:{first}")
    assert (grant["topup_id"], grant["minutes"], grant["assignment_id"]) == (first, 100, None)
    assert grant["valid_from"] == "2026-03-10T12:00:00Z"
    assert (grant["rollover_percent"], grant["rollover_days"]) == (0, None)
    [declined] = s.of("ChargeDeclined", customer_id=s.customer)
    assert declined["event_id"] == _natural(f"declined:topup:{over}")
    assert (declined["kind"], declined["topup_id"]) == ("topup", over)

    # After the tick: the clock has passed valid_from, so it is made at once, no tick needed.
    await _topup(s, free, "2026-03-10T00:00:00Z")
    [made] = await s.wait(1, event_type="FreeMinutesGranted", topup_id=free)
    assert made["grant_id"] == _natural(f"grant:topup:{free}")
    # The first top-up sent yet again, under another command id: still granted once.
    await _topup(s, first, "2026-03-10T12:00:00Z", retail="3.00", currency="GBP")
    await _handled(s)
    await s.settle("2026-03-12T00:00:00Z")
    assert len(s.of("FreeMinutesGranted", topup_id=first)) == 1
    assert len(s.of("CreditDebited", customer_id=s.customer)) == 1
    assert len(s.of("FreeMinutesGranted", topup_id=over)) == 0


async def test_pkgctl_topup_and_reverse(charging: Scenario) -> None:
    s = charging
    await s.settle("2026-03-11T00:00:00Z")
    topup_id = str(uuid.uuid4())
    args = [
        "topup", "--customer", s.customer, "--minutes", "30", "--prefix", "44",
        "--valid-from", "2026-03-10T00:00:00Z", "--retail", "1.00", "--currency", "GBP",
        "--topup-id", topup_id, "--reason", "goodwill",
    ]  # fmt: skip
    result = await pkgctl(s, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"topup_id {topup_id}" in result.stderr  # said before it was sent
    assert "FreeMinutesGranted" in result.stdout and topup_id in result.stdout
    command_id = re.search(r"command id ([0-9a-f-]{36})", result.stderr)
    assert command_id, result.stderr
    # The same line with its ids: the same command, answered by the first sending's outcome.
    again = await ok(s, *args, "--command-id", command_id.group(1))
    assert "FreeMinutesGranted" in again
    # The charger's read API (what `pkgctl customer` shows) lists it.
    view = await get(s, "charger", f"/customers/{s.customer}/charges", **{"from": "2026-03-01"})
    assert [(t["topup_id"], t["status"], t["retail"]) for t in view["topups"]] == [
        (topup_id, "granted", "1.00")
    ]
    # Due after the charger's clock: sent, not waited for.
    later = await pkgctl(
        s, "topup", "--customer", s.customer, "--minutes", "5",
        "--valid-from", "2026-04-01T00:00:00Z",
    )  # fmt: skip
    assert later.returncode == 0 and "not waiting" in later.stderr, later.stderr
    reversed_ = await ok(s, "reverse", "--customer", s.customer, str(uuid.uuid4()))
    assert "sent UsageReversed" in reversed_
    await s.settle("2026-03-12T00:00:00Z")
    assert len(s.of("FreeMinutesGranted", topup_id=topup_id)) == 1
    assert len(s.of("FreeMinutesGranted", customer_id=s.customer)) == 1  # April's not yet


async def test_a_top_up_covers_a_call_like_any_grant(everything: Scenario) -> None:
    """docs/contract.md §6 Top-ups: the allowance uses a top-up's grant as any other, and its
    balances name the top-up (no assignment)."""
    s = everything
    topup_id = str(uuid.uuid4())
    await _topup(s, topup_id, "2026-03-01T00:00:00Z", notify_at_percent=[50])
    usage_id = str(uuid.uuid4())
    await s.send(
        topics.USAGE_RATED,
        "UsageRated",
        s.customer,
        usage_id=usage_id,
        customer_id=s.customer,
        amount="1.200000",
        currency="GBP",
        occurred_at="2026-03-05T10:00:00Z",
        destination="442071234567",
        duration_seconds=3_600,
    )
    await s.settle("2026-03-06T00:00:00Z")
    grant_id = _natural(f"grant:topup:{topup_id}")
    [used] = await s.wait(1, event_type="FreeMinutesUsed", usage_id=usage_id)
    assert used["covered_seconds"] == 3_600 and used["credit"] == "1.200000"
    assert [(g["grant_id"], g["seconds"]) for g in used["grants"]] == [(grant_id, 3_600)]
    [alert] = await s.wait(1, event_type="AllowanceThresholdReached", grant_id=grant_id)
    assert alert["percent"] == 50 and alert["assignment_id"] is None
    balances = await s.wait(2, event_type="AllowanceBalance", grant_id=grant_id)
    latest = balances[-1]
    assert (latest["used_seconds"], latest["remaining_seconds"]) == (3_600, 2_400)
    assert latest["topup_id"] == topup_id and latest["assignment_id"] is None
    assert (latest["returned_seconds"], latest["rolled_over_seconds"]) == (0, 0)
