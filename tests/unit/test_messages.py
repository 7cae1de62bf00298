"""Message models: every message of the contract reads, writes and rejects as docs/contract.md
says."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from pkgcontract import topics
from pkgcontract.messages import (
    MESSAGE_TYPES,
    TOPIC_MESSAGES,
    AssignPackage,
    ChangeAssignment,
    ClockTicked,
    CreditDebited,
    DefinePackage,
    PackageDefined,
    PackageRunReported,
    Rejected,
    RunLine,
    Unreadable,
    UsageRated,
    natural_event_id,
    read,
)

CMD_ID = "6f1c9f0e-8a4c-4b1e-9a51-3c3e1f0f0a01"


def raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def define(**over: Any) -> dict[str, Any]:
    base = {
        "event_type": "DefinePackage",
        "event_id": CMD_ID,
        "schema_version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
        "package_id": "uk-100",
        "name": "UK 100",
        "kind": "free_minutes",
        "retail": "5.00",
        "currency": "GBP",
        "frequency": "monthly",
        "frequency_match": [15],
        "free_minutes": 100,
        "destination_prefixes": ["44"],
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def assign(**over: Any) -> dict[str, Any]:
    base = {
        "event_type": "AssignPackage",
        "event_id": CMD_ID,
        "assignment_id": str(uuid.uuid4()),
        "customer_id": "cust-1",
        "package_id": "uk-100",
        "quantity": 2,
        "start_date": "2026-01-10",
        "auto_decrement_credit": True,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def rejected_fields(topic: str, obj: dict[str, Any]) -> set[str]:
    with pytest.raises(Rejected) as info:
        read(topic, raw(obj))
    assert str(info.value.command_id) == CMD_ID
    assert info.value.command_type == obj["event_type"]
    assert info.value.reason.endswith(".")
    return {e.field for e in info.value.errors}


# ---------------------------------------------------------------- reading
def test_the_worked_example_definition_reads_with_exact_money() -> None:
    msg = read(topics.CATALOG_COMMANDS, raw(define()))
    assert isinstance(msg, DefinePackage)
    assert msg.retail == Decimal("5.00")
    assert msg.occurred_at == datetime(2026, 1, 1, tzinfo=UTC)
    out = json.loads(msg.to_json())
    assert out["retail"] == "5.00"
    assert out["occurred_at"] == "2026-01-01T00:00:00Z"
    assert out["event_id"] == CMD_ID


def test_unknown_fields_are_ignored() -> None:
    msg = read(topics.CATALOG_COMMANDS, raw(define(future_field={"x": 1})))
    assert isinstance(msg, DefinePackage)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"not json", "not JSON"),
        (b"\xff", "not UTF-8"),
        (b"[]", "not a JSON object"),
        (b'"text"', "not a JSON object"),
        (raw({"event_type": "Nope", "event_id": CMD_ID}), "unknown event_type"),
        (raw({"event_id": CMD_ID}), "unknown event_type None"),
        (raw(define(retail=5)), "retail"),  # money as a JSON number
        (raw(define(free_minutes="100")), "free_minutes"),
        (raw(define(frequency_match="15")), "frequency_match"),
        (raw(define(name=7)), "name"),
        (raw(define(effective_from=20260101)), "effective_from"),
    ],
)
def test_unreadable_input_is_named_precisely(payload: bytes, fragment: str) -> None:
    with pytest.raises(Unreadable, match=fragment):
        read(topics.CATALOG_COMMANDS, payload)


def test_a_message_of_another_topic_is_unreadable_here() -> None:
    with pytest.raises(Unreadable, match="DefinePackage"):
        read(topics.ASSIGNMENT_COMMANDS, raw(define()))


def test_a_command_without_a_usable_event_id_cannot_be_rejected_so_it_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="event_id"):
        read(topics.CATALOG_COMMANDS, raw(define(event_id="nope", retail="-1")))


def test_an_event_breaking_a_rule_is_unreadable_not_rejected() -> None:
    bad_tick = {"event_type": "ClockTicked", "event_id": CMD_ID, "tick_id": "x", "at": "now"}
    with pytest.raises(Unreadable, match="ClockTicked"):
        read(topics.CLOCK_TICKS, raw(bad_tick))


# ---------------------------------------------------------------- catalog rules
@pytest.mark.parametrize(
    ("over", "fields"),
    [
        ({"package_id": "bad id"}, {"package_id"}),
        ({"package_id": "x" * 65}, {"package_id"}),
        ({"package_id": ""}, {"package_id"}),
        ({"retail": "-0.01"}, {"retail"}),
        ({"retail": "1.1234567"}, {"retail"}),
        ({"retail": "1e3"}, {"retail"}),
        ({"retail": "NaN"}, {"retail"}),
        ({"cost": "-1"}, {"cost"}),
        ({"setup_retail": "-1"}, {"setup_retail"}),
        ({"setup_cost": "0.0000001"}, {"setup_cost"}),
        ({"currency": "gbp"}, {"currency"}),
        ({"kind": "bundle"}, {"kind"}),
        ({"frequency": "hourly"}, {"frequency"}),
        ({"free_minutes": 0}, {"free_minutes"}),
        ({"free_minutes": ...}, {"free_minutes"}),
        ({"destination_prefixes": ["+44"]}, {"destination_prefixes.0"}),
        ({"minimum_days": -1}, {"minimum_days"}),
        ({"effective_from": "2026-02-30"}, {"effective_from"}),
        ({"effective_from": "01/02/2026"}, {"effective_from"}),
        ({"name": ...}, {"name"}),
        ({"frequency_match": [0]}, {"frequency_match"}),
        ({"frequency_match": [32]}, {"frequency_match"}),
        ({"frequency_match": []}, {"frequency_match"}),
        ({"frequency_match": ["15"]}, {"frequency_match"}),
        ({"frequency": "weekly", "frequency_match": [8]}, {"frequency_match"}),
        ({"frequency": "yearly", "frequency_match": ["02-30"]}, {"frequency_match"}),
        ({"frequency": "yearly", "frequency_match": ["2-3"]}, {"frequency_match"}),
        ({"frequency": "yearly", "frequency_match": [215]}, {"frequency_match"}),
        ({"frequency": "daily", "frequency_match": [1]}, {"frequency_match"}),
        ({"schema_version": 2}, {"schema_version"}),
    ],
)
def test_define_package_rules(over: dict[str, Any], fields: set[str]) -> None:
    assert rejected_fields(topics.CATALOG_COMMANDS, define(**over)) == fields


def test_free_minutes_belong_to_free_minutes_packages_only() -> None:
    obj = define(kind="recurring", destination_prefixes=...)
    assert rejected_fields(topics.CATALOG_COMMANDS, obj) == {"free_minutes"}
    obj = define(kind="recurring", free_minutes=..., destination_prefixes=["44"])
    assert rejected_fields(topics.CATALOG_COMMANDS, obj) == {"destination_prefixes"}


def test_every_rule_broken_is_reported_at_once() -> None:
    obj = define(package_id="a b", retail="-1", currency="x")
    assert rejected_fields(topics.CATALOG_COMMANDS, obj) == {"package_id", "retail", "currency"}


@pytest.mark.parametrize(
    ("frequency", "match"),
    [
        ("daily", None),
        ("daily", []),
        ("weekly", [1, 7]),
        ("monthly", [15, 31]),
        ("yearly", ["02-29", "12-31"]),
    ],
)
def test_valid_frequencies(frequency: str, match: list[Any] | None) -> None:
    msg = read(
        topics.CATALOG_COMMANDS,
        raw(
            define(
                kind="recurring",
                free_minutes=...,
                destination_prefixes=...,
                frequency=frequency,
                frequency_match=match,
            )
        ),
    )
    assert isinstance(msg, DefinePackage)


def test_package_defined_keeps_money_as_strings_and_dates_iso() -> None:
    event = PackageDefined(
        package_id="p",
        name="P",
        kind="recurring",
        retail=Decimal("0.0125"),
        cost=Decimal("0.01"),
        currency="EUR",
        frequency="monthly",
        frequency_match=[1, 15],
        effective_from=date(2026, 3, 1),
        version=2,
    )
    out = json.loads(event.to_json())
    assert out["retail"] == "0.0125" and out["cost"] == "0.01"
    assert out["effective_from"] == "2026-03-01"
    assert out["event_type"] == "PackageDefined"
    assert read(topics.CATALOG_PACKAGES, event.to_json()) == event


# ---------------------------------------------------------------- assignment rules
@pytest.mark.parametrize(
    ("over", "fields"),
    [
        ({"quantity": 0}, {"quantity"}),
        ({"quantity": 100001}, {"quantity"}),
        ({"customer_id": ""}, {"customer_id"}),
        ({"customer_id": "c" * 65}, {"customer_id"}),
        ({"did": "12345"}, {"did"}),
        ({"did": "+441234567"}, {"did"}),
        ({"did": "1" * 16}, {"did"}),
        ({"assignment_id": "not-a-uuid"}, {"assignment_id"}),
        ({"start_date": "2026-13-01"}, {"start_date"}),
        ({"end_date": "2026-01-09"}, {"end_date"}),
        ({"timezone": "Mars/Olympus"}, {"timezone"}),
        ({"free_minutes": 0}, {"free_minutes"}),
        ({"package_id": ...}, {"package_id"}),
    ],
)
def test_assign_package_rules(over: dict[str, Any], fields: set[str]) -> None:
    assert rejected_fields(topics.ASSIGNMENT_COMMANDS, assign(**over)) == fields


@pytest.mark.parametrize(
    "over",
    [
        {"quantity": "2"},
        {"quantity": 2.0},
        {"quantity": True},
        {"auto_decrement_credit": "yes"},
        {"did": 441234567},
    ],
)
def test_assign_package_wrong_types_are_unreadable(over: dict[str, Any]) -> None:
    with pytest.raises(Unreadable):
        read(topics.ASSIGNMENT_COMMANDS, raw(assign(**over)))


def test_assign_package_defaults() -> None:
    msg = read(topics.ASSIGNMENT_COMMANDS, raw(assign(auto_decrement_credit=...)))
    assert isinstance(msg, AssignPackage)
    assert msg.timezone == "UTC"
    assert msg.auto_decrement_credit is True
    assert msg.did is None and msg.end_date is None


def test_change_assignment_tells_a_removed_end_date_from_an_absent_one() -> None:
    base = {"event_type": "ChangeAssignment", "event_id": CMD_ID, "assignment_id": CMD_ID}
    removed = read(topics.ASSIGNMENT_COMMANDS, raw(base | {"end_date": None}))
    absent = read(topics.ASSIGNMENT_COMMANDS, raw(base | {"quantity": 3}))
    assert isinstance(removed, ChangeAssignment) and isinstance(absent, ChangeAssignment)
    assert "end_date" in removed.model_fields_set
    assert "end_date" not in absent.model_fields_set


def test_spend_limit_may_be_null() -> None:
    cmd = {
        "event_type": "SetSpendLimit",
        "event_id": CMD_ID,
        "customer_id": "c",
        "monthly_limit": None,
        "currency": "GBP",
    }
    assert read(topics.ASSIGNMENT_COMMANDS, raw(cmd)).monthly_limit is None  # type: ignore[attr-defined]
    assert rejected_fields(topics.ASSIGNMENT_COMMANDS, cmd | {"monthly_limit": "-5"}) == {
        "monthly_limit"
    }


# ---------------------------------------------------------------- clock, usage, charger
def test_instants_need_an_offset_and_are_written_in_utc() -> None:
    tick = {
        "event_type": "ClockTicked",
        "event_id": CMD_ID,
        "tick_id": CMD_ID,
        "at": "2026-03-20T01:00:00+01:00",
    }
    msg = read(topics.CLOCK_TICKS, raw(tick))
    assert isinstance(msg, ClockTicked)
    assert json.loads(msg.to_json())["at"] == "2026-03-20T00:00:00Z"
    with pytest.raises(Unreadable, match="offset"):
        read(topics.CLOCK_TICKS, raw(tick | {"at": "2026-03-20T00:00:00"}))


def test_usage_needs_the_call_time_and_allows_negative_amounts() -> None:
    usage = {
        "event_type": "UsageRated",
        "event_id": CMD_ID,
        "usage_id": CMD_ID,
        "customer_id": "c",
        "amount": "-0.50",
        "currency": "GBP",
        "occurred_at": "2026-01-05T10:00:00Z",
        "destination": "44",
        "duration_seconds": 60,
    }
    msg = read(topics.USAGE_RATED, raw(usage))
    assert isinstance(msg, UsageRated) and msg.amount == Decimal("-0.50")
    del usage["occurred_at"]
    with pytest.raises(Unreadable, match="occurred_at"):
        read(topics.USAGE_RATED, raw(usage))


def test_natural_event_ids_are_the_contracts_uuid5() -> None:
    assignment = "0b7d1f4e-3c4a-4d38-9b0e-2f5f1b2c3d4e"
    key = f"debit:{assignment}:2026-01-15"
    assert natural_event_id(key) == uuid.uuid5(uuid.NAMESPACE_URL, "packages:" + key)


def test_credit_debited_round_trips() -> None:
    assignment = uuid.uuid4()
    debit_id = natural_event_id(f"debit:{assignment}:2026-01-15")
    event = CreditDebited(
        event_id=debit_id,
        debit_id=debit_id,
        customer_id="c",
        did=None,
        assignment_id=assignment,
        package_id="uk-100",
        package_version=1,
        amount=Decimal("10.00"),
        cost=None,
        currency="GBP",
        period_start=date(2026, 1, 15),
        period_end=date(2026, 2, 15),
        kind="recurring",
        reason="scheduled",
    )
    out = json.loads(event.to_json())
    assert out["amount"] == "10.00" and out["cost"] is None and out["did"] is None
    assert out["period_start"] == "2026-01-15" and out["kind"] == "recurring"
    assert read(topics.CREDIT_DEBITED, event.to_json()) == event


def test_run_report_totals_are_money_strings() -> None:
    line = RunLine(
        assignment_id=uuid.uuid4(),
        package_id="p",
        kind="grant",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 2, 1),
        amount=None,
        currency=None,
        minutes=100,
        status="would_charge",
    )
    report = PackageRunReported(
        request_id=uuid.uuid4(),
        customer_id="c",
        date=date(2026, 1, 1),
        simulate=True,
        lines=[line],
        totals={"GBP": Decimal("0")},
    )
    out = json.loads(report.to_json())
    assert out["totals"] == {"GBP": "0"}
    assert out["lines"][0]["amount"] is None


def test_every_contract_topic_has_its_messages() -> None:
    assert set(TOPIC_MESSAGES) == {t.name for t in topics.TOPICS}
    assert set(MESSAGE_TYPES) >= {
        "DefinePackage",
        "PackageDefined",
        "RetirePackage",
        "PackageRetired",
        "AssignPackage",
        "PackageAssigned",
        "ChangeAssignment",
        "AssignmentChanged",
        "EndAssignment",
        "AssignmentEnded",
        "SetSpendLimit",
        "SpendLimitSet",
        "ClockTicked",
        "UsageRated",
        "RunPackage",
        "PackageRunReported",
        "CreditDebited",
        "FreeMinutesGranted",
        "ChargeDeclined",
        "CommandRejected",
        "DeadLetter",
    }


def test_change_assignment_writes_only_the_fields_given() -> None:
    change = ChangeAssignment(assignment_id=uuid.UUID(CMD_ID), quantity=3)
    out = json.loads(change.to_json())
    assert out["quantity"] == 3
    assert "end_date" not in out and "auto_decrement_credit" not in out
    cleared = json.loads(ChangeAssignment(assignment_id=uuid.UUID(CMD_ID), end_date=None).to_json())
    assert cleared["end_date"] is None
    again = read(topics.ASSIGNMENT_COMMANDS, change.to_json())
    assert isinstance(again, ChangeAssignment) and again.model_fields_set >= {"quantity"}
    assert "end_date" not in again.model_fields_set


def _granted(**over: Any) -> dict[str, Any]:
    grant_id = str(uuid.uuid4())
    return {
        "event_type": "FreeMinutesGranted",
        "event_id": grant_id,
        "schema_version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
        "grant_id": grant_id,
        "customer_id": "acme",
        "did": None,
        "assignment_id": str(uuid.uuid4()),
        "package_id": "uk-100",
        "minutes": 100,
        "destination_prefixes": ["44"],
        "valid_from": "2026-01-01T00:00:00Z",
        "valid_until": "2026-02-01T00:00:00Z",
        "rollover_percent": 50,
        "rollover_days": 366,
    } | over


@pytest.mark.parametrize(
    "over",
    [{"minutes": 100_000_000_001}, {"minutes": 10**30}, {"rollover_days": 367}],
    ids=["minutes-past-the-product-bound", "minutes-huge", "rollover-days-past-366"],
)
def test_a_grant_past_the_contracts_bounds_is_unreadable(over: dict[str, Any]) -> None:
    """A grant no charge can make (minutes past free_minutes x quantity at their bounds, a
    rollover longer than 366 days) is a DeadLetter when read, so no reader overflows a column
    or a date with it (docs/contract.md §2 bounded integers)."""
    assert read(topics.FREE_MINUTES_GRANTED, raw(_granted())).minutes == 100  # type: ignore[attr-defined]
    assert read(topics.FREE_MINUTES_GRANTED, raw(_granted(minutes=100_000_000_000)))
    with pytest.raises(Unreadable):
        read(topics.FREE_MINUTES_GRANTED, raw(_granted(**over)))
