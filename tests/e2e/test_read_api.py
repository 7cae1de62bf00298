"""The read APIs and `pkgctl customer` against the four services as processes: what they show
of a customer is what the services published on Kafka."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario
from tests.e2e.cli import pkgctl

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("assignment", "charger", "allowance")


def url(s: Scenario, service: str, path: str, **params: Any) -> str:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    port = s.system.services[service].port
    return f"http://127.0.0.1:{port}{path}" + (f"?{query}" if query else "")


def get_status(s: Scenario, service: str, path: str, **params: Any) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url(s, service, path, **params), timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


async def get(s: Scenario, service: str, path: str, **params: Any) -> Any:
    status, body = await asyncio.to_thread(get_status, s, service, path, **params)
    assert status == 200, (path, params, status, body)
    return body


async def every_page(
    s: Scenario, service: str, path: str, field: str | None, limit: int, **params: Any
) -> list[Any]:
    items: list[Any] = []
    after = None
    while True:
        answer = await get(s, service, path, limit=limit, after=after, **params)
        page = answer[field] if field else answer
        assert len(page["items"]) <= limit
        items += page["items"]
        after = page["next"]
        if after is None:
            return items


async def test_a_customer_as_the_read_apis_and_pkgctl_show_it(everything: Scenario) -> None:
    s = everything
    c1, c2 = s.customer, f"{s.customer}-tight"
    for customer, limit in ((c1, "1000.00"), (c2, "5.00")):
        await s.send(
            topics.ASSIGNMENT_COMMANDS,
            "SetSpendLimit",
            customer,
            customer_id=customer,
            monthly_limit=limit,
            currency="GBP",
        )
        await s.wait(1, event_type="SpendLimitSet", customer_id=customer)
    monthly = await s.define(retail="10.00")
    minutes = await s.define(
        kind="free_minutes", retail="1.00", free_minutes=100, destination_prefixes=["44"]
    )
    daily = await s.define(frequency="daily", frequency_match=[], retail="0.10")
    changed = await s.assign(monthly["package_id"], start_date="2027-01-01")
    for kind, fields in (
        ("ChangeAssignment", {"quantity": 2, "effective_from": "2027-03-01"}),
        ("EndAssignment", {"end_date": "2027-06-30"}),
    ):
        await s.send(topics.ASSIGNMENT_COMMANDS, kind, c1, assignment_id=changed, **fields)
    await s.wait(1, event_type="AssignmentEnded", assignment_id=changed)
    granted = await s.assign(minutes["package_id"], start_date="2027-01-01")
    held = await s.assign(daily["package_id"], start_date="2025-01-01")
    declined = await s.assign(monthly["package_id"], customer=c2, start_date="2027-01-01")
    call = str(uuid.uuid4())
    await s.send(
        topics.USAGE_RATED,
        "UsageRated",
        c1,
        usage_id=call,
        customer_id=c1,
        amount="0.600000",
        currency="GBP",
        occurred_at="2027-02-01T10:00:00Z",
        destination="442071234567",
        duration_seconds=300,
    )
    tick = await s.settle("2027-02-01T12:00:00Z")
    await s.wait(1, event_type="FreeMinutesUsed", usage_id=call)
    await s.reader.read_to_end()
    assert len(s.of("ChargesHeld", assignment_id=held)) == 1

    # The assignment service: every assignment, its state and history, page by page.
    listed = await every_page(s, "assignment", f"/customers/{c1}/assignments", None, 1)
    assert sorted(a["assignment_id"] for a in listed) == sorted([changed, granted, held])
    mine = next(a for a in listed if a["assignment_id"] == changed)
    published = [
        e["event_id"]
        for e in s.of("PackageAssigned", assignment_id=changed)
        + s.of("AssignmentChanged", assignment_id=changed)
        + s.of("AssignmentEnded", assignment_id=changed)
    ]
    assert [h["event_id"] for h in mine["history"]] == published
    assert [h["event_type"] for h in mine["history"]] == [
        "PackageAssigned",
        "AssignmentChanged",
        "AssignmentEnded",
    ]
    assert (mine["state"]["quantity"], mine["state"]["end_date"]) == (2, "2027-06-30")
    limit = await get(s, "assignment", f"/customers/{c1}/spend-limit")
    assert (Decimal(limit["monthly_limit"]), limit["currency"]) == (Decimal(1000), "GBP")

    # The charger: the clock, this month by default, any window page by page.
    clock = await get(s, "charger", "/clock")
    assert (clock["tick_id"], clock["tick_at"], clock["settled"]) == (
        tick,
        "2027-02-01T12:00:00Z",
        True,
    )
    debits = s.of("CreditDebited", customer_id=c1)
    grants = s.of("FreeMinutesGranted", customer_id=c1)
    month = await get(s, "charger", f"/customers/{c1}/charges")
    assert (month["from_date"], month["to_date"], month["month"]) == (
        "2027-02-01",
        "2027-02-01",
        "2027-02-01",
    )
    february = [d for d in debits if d["period_start"] == "2027-02-01"]
    charged = str(sum(Decimal(d["amount"]) for d in february))
    assert month["month_to_date"] == [
        {"currency": "GBP", "charged": charged, "declined": "0", "credited": "0", "net": charged}
    ]
    assert month["minutes_granted_this_month"] == sum(
        g["minutes"] for g in grants if g["valid_from"].startswith("2027-02-01")
    )
    assert month["held"] == [
        {
            "assignment_id": held,
            "package_id": daily["package_id"],
            "hold": "held",
            "reason": "catch_up_limit",
            "charged_through": None,
        }
    ]
    everything_charged = await every_page(
        s,
        "charger",
        f"/customers/{c1}/charges",
        "charges",
        2,
        to="2027-12-31",
        **{"from": "2027-01-01"},
    )
    assert sorted(
        (c["assignment_id"], c["period_start"], str(c["amount"]), str(c["minutes"]))
        for c in everything_charged
    ) == sorted(
        [(d["assignment_id"], d["period_start"], d["amount"], "None") for d in debits]
        + [(g["assignment_id"], g["valid_from"][:10], "None", str(g["minutes"])) for g in grants]
    )
    assert {c["status"] for c in everything_charged} == {"charged"}
    tight = await get(s, "charger", f"/customers/{c2}/charges")
    refused = s.of("ChargeDeclined", customer_id=c2)
    assert [c["assignment_id"] for c in tight["charges"]["items"]] == [declined]
    assert [c["status"] for c in tight["charges"]["items"]] == ["declined"]
    assert tight["month_to_date"] == [
        {"currency": "GBP", "charged": "0", "declined": "10.00", "credited": "0", "net": "0"}
    ]
    assert any(r["period_start"] == "2027-02-01" for r in refused)

    # The allowance service: each grant's balance as last published (the expiry follows the
    # calls it settles: wait until what the API shows is on the topic too).
    shown = await every_page(s, "allowance", f"/customers/{c1}/allowances", "grants", 1)

    def published(_: Any) -> bool:
        latest = {b["grant_id"]: b for b in s.of("AllowanceBalance", customer_id=c1)}
        return all(
            g["grant_id"] in latest and latest[g["grant_id"]]["status"] == g["status"]
            for g in shown
        )

    await s.reader.wait_for(published, timeout=60, what="the balances the API shows")
    balances = {b["grant_id"]: b for b in s.of("AllowanceBalance", customer_id=c1)}
    assert {g["grant_id"] for g in shown} == {g["grant_id"] for g in grants}
    for g in shown:
        latest = balances[g["grant_id"]]
        assert (g["used_seconds"], g["remaining_seconds"], g["status"]) == (
            latest["used_seconds"],
            latest["remaining_seconds"],
            latest["status"],
        )
    assert sum(g["used_seconds"] for g in shown) == 300

    # What is unknown, malformed or not ours is said so.
    stranger = f"{s.customer}-nobody"
    for service, path in (
        ("assignment", f"/customers/{stranger}/assignments"),
        ("assignment", f"/customers/{stranger}/spend-limit"),
        ("charger", f"/customers/{stranger}/charges"),
        ("allowance", f"/customers/{stranger}/allowances"),
    ):
        assert (await asyncio.to_thread(get_status, s, service, path))[0] == 404, path
    assert get_status(s, "charger", f"/customers/{c1}/charges", after="bm90IG91cnM")[0] == 400
    assert get_status(s, "assignment", "/customers/a%01b/assignments")[0] == 422
    assert get_status(s, "charger", f"/customers/{c1}/charges", limit=5000)[0] == 422

    # Each service serves the OpenAPI document committed under docs/openapi.
    for service in ("catalog", *SERVICES):
        served = await get(s, service, "/openapi.json")
        assert served == json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text())

    # pkgctl customer: the same, as JSON for scripts and as one screen for people.
    result = await pkgctl(s, "customer", c1, "--json")
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert len(view["assignments"]["items"]) == 3
    assert view["charges"]["month_to_date"] == month["month_to_date"]
    assert len(view["allowances"]["grants"]["items"]) == len(shown)
    assert view["spend_limit"] == limit
    screen = await pkgctl(s, "customer", c2)
    assert screen.returncode == 0, screen.stderr
    assert "declined 10.00" in screen.stdout and declined in screen.stdout
    screen = await pkgctl(s, "customer", c1)
    assert f"pkgctl release {c1} {held}" in screen.stdout
    unknown = await pkgctl(s, "customer", stranger)
    assert unknown.returncode == 1 and "no service knows" in unknown.stderr
