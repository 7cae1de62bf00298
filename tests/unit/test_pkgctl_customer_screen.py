"""`pkgctl customer` (issue 35): any month can be asked (--month, handed to the charger's read
API), each month's totals show gross, credited and net, each charge its assignment (two equal
rows of two assignments no longer look like one), each hold why it was held, and the screen
says which system it shows. The read APIs are stood in for with their answers."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pkgctl import api, profiles, views
from pkgctl.app import app

pytestmark = pytest.mark.unit

runner = CliRunner()
CUSTOMER = "c-35"
A1 = "11111111-8a4c-4b1e-9a51-3c3e1f0f0a01"
A2 = "22222222-8a4c-4b1e-9a51-3c3e1f0f0a02"
A3 = "33333333-8a4c-4b1e-9a51-3c3e1f0f0a03"


def _charge(assignment_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "charge_key": f"debit:{assignment_id}:2026-12-01",
        "assignment_id": assignment_id,
        "package_id": "gold",
        "kind": "recurring",
        "status": "charged",
        "period_start": "2026-12-01",
        "period_end": "2027-01-01",
        "charged_days": None,
        "period_days": None,
        "amount": "10.00",
        "currency": "GBP",
        "minutes": None,
        "reason": "scheduled",
        "decline_reason": None,
        "credited": None,
        "credited_from": None,
        "credited_days": None,
        "made_at": "2026-12-01T00:00:01Z",
    } | fields


def _charges(month: str) -> dict[str, Any]:
    return {
        "customer_id": CUSTOMER,
        "from_date": f"{month}-01",
        "to_date": f"{month}-31",
        "month": f"{month}-01",
        "month_to_date": [
            {
                "currency": "GBP",
                "charged": "20.00",
                "declined": "0",
                "credited": "3.23",
                "net": "16.77",
            }
        ],
        "minutes_granted_this_month": 0,
        "spend_limit": None,
        "held": [
            {
                "assignment_id": A3,
                "package_id": "daily",
                "hold": "held",
                "reason": "catch_up_limit",
                "charged_through": None,
            },
            {
                "assignment_id": A1,
                "package_id": "gold",
                "hold": "held",
                "reason": "failed: [boom] terms cannot be read",
                "charged_through": "2026-11-01",
            },
        ],
        "charges": {
            "items": [
                _charge(A1, credited="3.23", credited_from="2026-12-22"),
                _charge(A2, charge_key=f"debit:{A2}:2026-12-01"),
            ],
            "next": None,
            "truncated": False,
        },
    }


def _screen(charges: dict[str, Any]) -> str:
    view = api.Customer(CUSTOMER, {"items": []}, None, charges, None)
    console = Console(file=StringIO(), width=250, color_system=None)
    views.customer(console, view, 20)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_totals_show_gross_credited_and_net() -> None:
    screen = _screen(_charges("2026-12"))
    assert "month 2026-12: 20.00 GBP charged, 3.23 credited, net 16.77 GBP" in screen


def test_each_charge_shows_its_assignment() -> None:
    screen = _screen(_charges("2026-12"))
    rows = [line for line in screen.splitlines() if "2026-12-01 to 2027-01-01" in line]
    assert len(rows) == 2
    assert views.short(A1) in rows[0] and views.short(A2) in rows[1]
    assert rows[0] != rows[1]
    assert "3.23 GBP from 2026-12-22" in rows[0]


def test_each_hold_says_why() -> None:
    screen = _screen(_charges("2026-12"))
    assert f"assignment {A3} (daily)" in screen and "why: over the catch-up limit" in screen
    assert "why: failed: [boom] terms cannot be read" in screen  # markup printed as it is
    assert f"pkgctl release {CUSTOMER} {A1}" in screen


def test_a_hold_recorded_before_reasons_were_kept() -> None:
    charges = _charges("2026-12")
    charges["held"] = [dict(charges["held"][0], reason=None, hold="released")]
    screen = _screen(charges)
    assert "released:" in screen and "why: reason not recorded" in screen
    assert "pkgctl release" not in screen


def test_no_credit_shows_the_net_too() -> None:
    charges = _charges("2026-12")
    charges["month_to_date"] = [
        {"currency": "GBP", "charged": "0", "declined": "10.00", "credited": "0", "net": "0"}
    ]
    assert "0 GBP charged (net 0), declined 10.00" in _screen(charges)


def _stand_in(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    asked: list[tuple[str, str, dict[str, Any]]] = []

    def pages(service: str, path: str, field: str | None = None, **params: Any) -> Any:
        asked.append((service, path, params))
        if service == "charger":
            return _charges(params.get("month") or "2027-01")
        return {"items": []} if field is None else None

    def get(service: str, path: str, **params: Any) -> Any:
        asked.append((service, path, params))
        return None

    monkeypatch.setattr(api, "pages", pages)
    monkeypatch.setattr(api, "get", get)
    return asked


ENV = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "COLUMNS": "250", "PKGCTL_PROFILE": ""}


def test_any_month_can_be_asked_and_the_system_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _stand_in(monkeypatch)
    profiles.select(None)
    result = runner.invoke(app, ["customer", CUSTOMER, "--month", "2026-12"], env=ENV)
    assert result.exit_code == 0, result.output
    charger = [params for service, _, params in asked if service == "charger"]
    assert charger and charger[0]["month"] == "2026-12"
    assert "month 2026-12" in result.output
    assert "system: environment variables (broker 127.0.0.1:9)" in result.output.splitlines()[0]


def test_without_month_the_chargers_month_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _stand_in(monkeypatch)
    result = runner.invoke(app, ["customer", CUSTOMER], env=ENV)
    assert result.exit_code == 0, result.output
    charger = [params for service, _, params in asked if service == "charger"]
    assert charger[0]["month"] is None and "month 2027-01" in result.output


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-12", "2026-12-01", "1899-12", "x"])
def test_a_bad_month_is_refused(monkeypatch: pytest.MonkeyPatch, month: str) -> None:
    asked = _stand_in(monkeypatch)
    result = runner.invoke(app, ["customer", CUSTOMER, "--month", month], env=ENV)
    assert result.exit_code == 2 and "--month" in result.output and asked == []
