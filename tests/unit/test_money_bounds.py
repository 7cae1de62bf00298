"""Money in a command or a usage record has at most 10 digits before the point (docs/contract.md
§2): more is CommandRejected, or for a usage record a DeadLetter, by both readers; pkgctl
refuses it before sending. Digits are ASCII digits."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from pkgcontract import topics
from pkgcontract.messages import DefinePackage, Rejected, Unreadable, read
from pkgcontract.messages.fast import usage_rated
from pkgcontract.messages.fields import input_money_value

pytestmark = pytest.mark.unit

MAX_INPUT = Decimal("9999999999.999999")


def _define(retail: str, **money_fields: str) -> bytes:
    return json.dumps(
        {
            "event_type": "DefinePackage",
            "event_id": str(uuid.uuid4()),
            "package_id": "big",
            "name": "Big",
            "kind": "recurring",
            "retail": retail,
            "currency": "GBP",
            "frequency": "daily",
            **money_fields,
        }
    ).encode()


def test_a_definition_with_ten_digits_before_the_point_is_accepted() -> None:
    msg = read(topics.CATALOG_COMMANDS, _define("9999999999.999999", setup_retail="9999999999"))
    assert isinstance(msg, DefinePackage) and msg.retail == MAX_INPUT
    assert json.loads(msg.to_json())["retail"] == "9999999999.999999"


@pytest.mark.parametrize("field", ["retail", "cost", "setup_retail", "setup_cost"])
@pytest.mark.parametrize("value", ["10000000000", "99999999999.5", "00000000001"])
def test_a_definition_with_eleven_digits_before_the_point_is_rejected(
    field: str, value: str
) -> None:
    fields = {"retail": "1.00", field: value}
    with pytest.raises(Rejected) as info:
        read(topics.CATALOG_COMMANDS, _define(**fields))  # type: ignore[arg-type]
    event = info.value.to_event()
    assert event.command_type == "DefinePackage"
    assert [e.field for e in event.errors] == [field]
    assert "at most 10 digits before the point" in event.reason


def test_a_spend_limit_with_eleven_digits_is_rejected() -> None:
    def limit(value: str) -> bytes:
        return json.dumps(
            {
                "event_type": "SetSpendLimit",
                "event_id": str(uuid.uuid4()),
                "customer_id": "c",
                "monthly_limit": value,
                "currency": "GBP",
            }
        ).encode()

    assert read(topics.ASSIGNMENT_COMMANDS, limit("9999999999.999999"), key=b"c")
    with pytest.raises(Rejected, match="at most 10 digits before the point"):
        read(topics.ASSIGNMENT_COMMANDS, limit("10000000000.00"), key=b"c")


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_usage_record_with_eleven_digits_is_a_dead_letter(fast_path: bool) -> None:
    def usage(amount: str) -> bytes:
        return json.dumps(
            {
                "event_type": "UsageRated",
                "event_id": str(uuid.uuid4()),
                "usage_id": str(uuid.uuid4()),
                "customer_id": "c",
                "amount": amount,
                "currency": "GBP",
                "occurred_at": "2026-01-01T00:00:00Z",
            }
        ).encode()

    for ok in ("9999999999.999999", "-9999999999.999999"):
        assert read(topics.USAGE_RATED, usage(ok), fast_path=fast_path).amount == Decimal(ok)  # type: ignore[attr-defined]
    for bad in ("10000000000", "-10000000000.000001"):
        assert usage_rated(usage(bad)) is None  # the fast reader leaves it to the general one
        with pytest.raises(Unreadable, match="at most 10 digits before the point"):
            read(topics.USAGE_RATED, usage(bad), fast_path=fast_path)


@pytest.mark.parametrize("text", ["1٣.00", "9.99\n", " 9.99", "1e3", "NaN", "1.0000001"])
def test_money_is_ascii_digits_only(text: str) -> None:
    with pytest.raises(ValueError):  # PydanticCustomError is a ValueError
        input_money_value(text)


@pytest.mark.parametrize(
    "args",
    [
        ["define", "p1", "--name", "P", "--kind", "recurring", "--retail", "10000000000"],
        ["spend-limit", "--customer", "c", "--limit", "10000000000", "--currency", "GBP"],
        [
            "usage",
            "--customer",
            "c",
            "--destination",
            "44",
            "--seconds",
            "60",
            "--amount",
            "10000000000",
            "--currency",
            "GBP",
        ],
    ],
)
def test_pkgctl_refuses_eleven_digits_before_sending(args: list[str]) -> None:
    from pkgctl.app import app

    if args[0] == "define":
        args = [*args, "--currency", "GBP", "--frequency", "daily"]
    env = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "COLUMNS": "200"}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert "at most 10 digits before the point" in result.output
