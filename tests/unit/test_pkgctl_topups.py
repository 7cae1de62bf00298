"""pkgctl topup and reverse (docs/contract.md §4 GrantMinutes, UsageReversed): bad input refused
before sending (exit 2, the option named), the ids said before sending, and the outcome each
is answered with. Kafka is pointed at a closed port."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from pkgcontract import topics
from pkgcontract.messages import GrantMinutes, UsageReversed
from pkgctl import answers
from pkgctl.app import app

runner = CliRunner()
ENV = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "COLUMNS": "200"}
TOPUP = ["topup", "--customer", "acme", "--minutes", "60", "--valid-from", "2026-03-01T00:00:00Z"]
UID = "6f1c9f0e-8a4c-4b1e-9a51-3c3e1f0f0a01"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--retail", "1.00"], "--currency"),
        (["--retail", "-1", "--currency", "GBP"], "--retail"),
        (["--valid-until", "2026-03-01T00:00:00Z"], "--valid-until"),
        (["--valid-until", "2027-03-02T00:00:01Z"], "--valid-until"),
        (["--notify-at", "101"], "--notify-at"),
        (["--prefix", "+44"], "--prefix"),
        (["--topup-id", "nope"], "--topup-id"),
    ],
)
def test_a_bad_top_up_is_refused_before_sending(extra: list[str], fragment: str) -> None:
    result = runner.invoke(app, [*TOPUP, *extra], env=ENV)
    assert result.exit_code == 2, result.output
    assert fragment in result.output


def test_a_top_up_says_its_ids_before_it_is_sent() -> None:
    result = runner.invoke(app, [*TOPUP, "--topup-id", UID, "--no-wait", "--timeout", "1"], env=ENV)
    assert result.exit_code == 1  # the broker cannot be reached
    assert f"topup_id {UID}" in result.output and "command id" in result.output
    assert f"--topup-id {UID}" in result.output  # the line that sends it again


def test_a_reversal_needs_a_uuid() -> None:
    result = runner.invoke(app, ["reverse", "--customer", "acme", "nope"], env=ENV)
    assert result.exit_code == 2 and "usage" in result.output.lower()


def test_a_top_up_is_answered_by_its_grant_or_its_decline_by_topup_id() -> None:
    cmd = GrantMinutes(
        topup_id=uuid.uuid4(),
        customer_id="acme",
        minutes=1,
        valid_from="2026-03-01T00:00:00Z",
        valid_until="2026-03-02T00:00:00Z",
    )
    where, success = answers.expected(cmd)
    assert where == (topics.FREE_MINUTES_GRANTED, topics.CHARGER_EVENTS)
    command_id = str(cmd.event_id)
    grant = {"event_type": "FreeMinutesGranted", "topup_id": str(cmd.topup_id)}
    declined = {"event_type": "ChargeDeclined", "topup_id": str(cmd.topup_id)}
    other = {"event_type": "FreeMinutesGranted", "topup_id": str(uuid.uuid4())}
    rejected = {"event_type": "CommandRejected", "command_id": command_id}
    assert answers.outcome([other], command_id, success) is None
    assert answers.outcome([other, grant], command_id, success) == grant
    assert answers.outcome([declined], command_id, success) == declined
    assert answers.outcome([rejected], command_id, success) == rejected


def test_a_reversal_is_answered_by_free_minutes_returned() -> None:
    cmd = UsageReversed(reversal_id=uuid.uuid4(), usage_id=uuid.uuid4(), customer_id="acme")
    where, success = answers.expected(cmd)
    assert where == topics.FREE_MINUTES_USED
    assert success == {"event_type": "FreeMinutesReturned", "usage_id": str(cmd.usage_id)}


def test_the_customer_view_shows_top_ups_and_their_charges() -> None:
    from rich.console import Console

    from pkgctl import views

    console = Console(record=True, width=200)
    charges = {
        "customer_id": "acme",
        "month": "2026-03-01",
        "month_to_date": [{"currency": "GBP", "charged": "1.00", "declined": "0"}],
        "minutes_granted_this_month": 30,
        "held": [],
        "from_date": "2026-03-01",
        "to_date": "2026-03-11",
        "topups": [
            {"topup_id": UID, "minutes": 30, "retail": "1.00", "currency": "GBP",
             "valid_from": "2026-03-10T00:00:00Z", "valid_until": "2026-04-09T00:00:00Z",
             "status": "granted", "reason": "goodwill"},
        ],
        "charges": {
            "truncated": False,
            "items": [
                {"period_start": "2026-03-10", "period_end": "2026-03-10", "package_id": None,
                 "assignment_id": None, "topup_id": UID, "kind": "topup", "amount": "1.00",
                 "currency": "GBP", "minutes": None, "status": "charged", "reason": "scheduled",
                 "decline_reason": None, "credited": None},
            ],
        },
    }  # fmt: skip
    views._charges(console, charges, 20)
    text = console.export_text()
    assert f"top-up {UID}: 30 min, 1.00 GBP" in text and "granted (goodwill)" in text
    assert f"top-up {UID}" in text.split("charges for periods")[1]
