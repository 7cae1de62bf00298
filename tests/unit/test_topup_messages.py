"""Issue 34's messages at their edges (docs/contract.md §4): DefinePackage's rollover terms,
GrantMinutes, UsageReversed on usage.rated (both readers), FreeMinutesReturned, and the new
fields of FreeMinutesGranted, CreditDebited, ChargeDeclined and AllowanceBalance."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from pkgcontract import topics
from pkgcontract.messages import (
    AllowanceBalance,
    FreeMinutesReturned,
    GrantMinutes,
    PackageDefined,
    Rejected,
    Unreadable,
    UsageReversed,
    read,
)
from pkgcontract.messages.fast import usage_rated

CMD_ID = "6f1c9f0e-8a4c-4b1e-9a51-3c3e1f0f0a01"


def raw(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def define(**over: Any) -> dict[str, Any]:
    base = {
        "event_type": "DefinePackage",
        "event_id": CMD_ID,
        "package_id": "uk-100",
        "name": "UK 100",
        "kind": "free_minutes",
        "retail": "5.00",
        "currency": "GBP",
        "frequency": "monthly",
        "frequency_match": [15],
        "free_minutes": 100,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def topup(**over: Any) -> dict[str, Any]:
    base = {
        "event_type": "GrantMinutes",
        "event_id": CMD_ID,
        "topup_id": str(uuid.uuid4()),
        "customer_id": "cust-1",
        "minutes": 60,
        "valid_from": "2026-03-01T00:00:00Z",
        "valid_until": "2026-04-01T00:00:00Z",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def rejected(topic: str, obj: dict[str, Any]) -> set[str]:
    with pytest.raises(Rejected) as info:
        read(topic, raw(obj))
    assert str(info.value.command_id) == CMD_ID
    return {e.field for e in info.value.errors}


# ---------------------------------------------------------------- rollover terms
@pytest.mark.parametrize(
    ("over", "percent", "days"),
    [
        ({}, 0, None),
        ({"rollover_percent": None}, 0, None),
        ({"rollover_percent": 0}, 0, None),
        ({"rollover_percent": 1, "rollover_days": 1}, 1, 1),
        ({"rollover_percent": 100, "rollover_days": 366}, 100, 366),
        ({"kind": "recurring", "free_minutes": ..., "rollover_percent": 0}, 0, None),
    ],
)
def test_rollover_terms_that_are_accepted(over: dict[str, Any], percent: int, days: int) -> None:
    message = read(topics.CATALOG_COMMANDS, raw(define(**over)))
    assert (message.rollover_percent, message.rollover_days) == (percent, days)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"rollover_percent": -1, "rollover_days": 5}, "rollover_percent"),
        ({"rollover_percent": 101, "rollover_days": 5}, "rollover_percent"),
        ({"rollover_percent": 50}, "rollover_days"),
        ({"rollover_percent": 50, "rollover_days": None}, "rollover_days"),
        ({"rollover_percent": 50, "rollover_days": 0}, "rollover_days"),
        ({"rollover_percent": 50, "rollover_days": 367}, "rollover_days"),
        ({"rollover_days": 30}, "rollover_days"),
        ({"rollover_percent": 0, "rollover_days": 30}, "rollover_days"),
        (
            {"kind": "recurring", "free_minutes": ..., "rollover_percent": 10, "rollover_days": 3},
            "rollover_percent",
        ),
        ({"kind": "minimum_spend", "free_minutes": ..., "rollover_days": 3}, "rollover_days"),
    ],
)
def test_rollover_terms_that_are_rejected(over: dict[str, Any], field: str) -> None:
    assert field in rejected(topics.CATALOG_COMMANDS, define(**over))


def test_rollover_of_the_wrong_json_type_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="rollover_percent"):
        read(topics.CATALOG_COMMANDS, raw(define(rollover_percent="50", rollover_days=3)))


def test_a_package_defined_before_rollover_reads_with_none() -> None:
    defined = PackageDefined.model_validate(
        {**define(), "event_type": "PackageDefined", "version": 1, "effective_from": None}
    )
    assert (defined.rollover_percent, defined.rollover_days) == (0, None)
    assert '"rollover_percent":0,"rollover_days":null' in defined.to_json().decode()


# ---------------------------------------------------------------- GrantMinutes
def test_a_top_up_reads_with_its_defaults() -> None:
    cmd = read(topics.CHARGER_COMMANDS, raw(topup()), key=b"cust-1")
    assert isinstance(cmd, GrantMinutes)
    assert cmd.retail is None and cmd.destination_prefixes is None
    assert cmd.notify_at_percent == [] and cmd.did is None


def test_a_top_up_with_everything() -> None:
    cmd = read(
        topics.CHARGER_COMMANDS,
        raw(
            topup(
                did="447700900123",
                retail="9999999999.999999",
                currency="GBP",
                destination_prefixes=["44", "33"],
                notify_at_percent=[100, 50],
                reason="x" * 200,
                valid_until="2027-03-02T00:00:00Z",  # 366 days (2026-27 has no 29 February)
            )
        ),
    )
    assert isinstance(cmd, GrantMinutes) and cmd.notify_at_percent == [50, 100]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": 1_000_001}, "minutes"),
        ({"valid_until": "2026-03-01T00:00:00Z"}, "valid_until"),
        ({"valid_until": "2026-02-28T00:00:00Z"}, "valid_until"),
        ({"valid_until": "2027-03-02T00:00:01Z"}, "valid_until"),
        ({"valid_from": "1899-12-31T00:00:00Z"}, "valid_from"),
        ({"retail": "1.00"}, "currency"),
        ({"retail": "-0.01", "currency": "GBP"}, "retail"),
        ({"retail": "10000000000", "currency": "GBP"}, "retail"),
        ({"retail": "1.0000001", "currency": "GBP"}, "retail"),
        ({"currency": "gbp", "retail": "1"}, "currency"),
        ({"destination_prefixes": ["+44"]}, "destination_prefixes.0"),
        ({"notify_at_percent": [0]}, "notify_at_percent"),
        ({"notify_at_percent": [1, 2, 3, 4, 5, 6]}, "notify_at_percent"),
        ({"reason": "x" * 201}, "reason"),
        ({"did": "12345"}, "did"),
        ({"customer_id": ""}, "customer_id"),
    ],
)
def test_top_ups_that_are_rejected(over: dict[str, Any], field: str) -> None:
    assert field in rejected(topics.CHARGER_COMMANDS, topup(**over))


def test_a_top_up_under_another_key_is_rejected() -> None:
    with pytest.raises(Rejected, match="customer_id"):
        read(topics.CHARGER_COMMANDS, raw(topup()), key=b"someone-else")


def test_a_top_up_with_a_wrong_json_type_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="minutes"):
        read(topics.CHARGER_COMMANDS, raw(topup(minutes="60")))


# ---------------------------------------------------------------- UsageReversed
def reversal() -> dict[str, Any]:
    return {
        "event_type": "UsageReversed",
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-03-01T00:00:00Z",
        "reversal_id": str(uuid.uuid4()),
        "usage_id": str(uuid.uuid4()),
        "customer_id": "cust-1",
    }


def test_a_reversal_is_read_on_usage_rated_by_both_readers() -> None:
    payload = raw(reversal())
    assert usage_rated(payload) is None  # the fast reader leaves it to the general one
    for fast in (True, False):
        message = read(topics.USAGE_RATED, payload, fast_path=fast)
        assert isinstance(message, UsageReversed)


def test_a_broken_reversal_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="usage_id"):
        read(topics.USAGE_RATED, raw({**reversal(), "usage_id": "nope"}))


# ---------------------------------------------------------------- events' new fields
def test_free_minutes_returned_and_balances_of_top_ups_round_trip() -> None:
    grant_id = uuid.uuid4()
    returned = FreeMinutesReturned(
        usage_id=uuid.uuid4(),
        reversal_id=uuid.uuid4(),
        customer_id="cust-1",
        did=None,
        credit="0.600000",
        currency="GBP",
        grants=[
            {"grant_id": grant_id, "seconds_returned": 200, "seconds_lost": 100,
             "remaining_seconds": 500}
        ],
    )  # fmt: skip
    assert read(topics.FREE_MINUTES_USED, returned.to_json()) == returned
    balance = AllowanceBalance(
        grant_id=grant_id,
        customer_id="cust-1",
        did=None,
        assignment_id=None,
        topup_id=uuid.uuid4(),
        destination_prefixes=[],
        valid_from="2026-03-01T00:00:00Z",
        valid_until="2026-04-01T00:00:00Z",
        granted_seconds=600,
        used_seconds=100,
        remaining_seconds=500,
        returned_seconds=200,
        status="active",
    )
    assert read(topics.ALLOWANCE_BALANCES, balance.to_json()) == balance
    assert balance.rolled_over_from is None and balance.rolled_over_seconds == 0
