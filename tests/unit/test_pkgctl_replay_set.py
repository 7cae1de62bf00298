"""`pkgctl dlq replay --set FIELD=VALUE` (issue 35): each value is written with the JSON type the
contract gives its field (money as a string, integers as numbers, booleans, lists, null), said
as which type; a value that cannot be its type, or a field the message does not have, is
refused (exit 2) before anything is sent. Kafka is stood in for at pkgctl's broker functions."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from pkgcontract.messages import MESSAGE_TYPES
from pkgctl import letters, replay_fields
from pkgctl.app import app

pytestmark = pytest.mark.unit

runner = CliRunner()
ENV = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "COLUMNS": "200"}


def _define(**fields: Any) -> dict[str, Any]:
    return {
        "event_type": "DefinePackage",
        "event_id": "6f1c9f0e-8a4c-4b1e-9a51-3c3e1f0f0a01",
        "schema_version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
        "package_id": "p1",
        "name": "Gold",
        "kind": "recurring",
        "retail": 5,  # a number where the contract wants a string: why it was dead-lettered
        "currency": "GBP",
        "frequency": "monthly",
        "frequency_match": [1],
    } | fields


def _letter(message: dict[str, Any], offset: int = 3) -> dict[str, Any]:
    payload = json.dumps(message).encode()
    return {
        "payload_base64": base64.b64encode(payload).decode(),
        "payload_size": len(payload),
        "source_topic": "catalog.commands",
        "key": "p1",
        "_dlq": "catalog.commands.dlq",
        "_offset": offset,
    }


@pytest.mark.parametrize(
    ("field", "text", "value", "kind"),
    [
        ("retail", "5.00", "5.00", "money"),
        ("retail", "5", "5", "money"),
        ("retail", '"5.10"', "5.10", "money"),
        ("cost", "null", None, "null"),
        ("cost", "0.5", "0.5", "money"),
        ("free_minutes", "100", 100, "integer"),
        ("notice_days", "-0", 0, "integer"),
        ("notify_at_percent", "[80, 90]", [80, 90], "list"),
        ("frequency_match", '[15, "02-29"]', [15, "02-29"], "list"),
        ("name", "123", "123", "JSON string"),
        ("name", "true", "true", "JSON string"),
        ("effective_from", "2026-02-01", "2026-02-01", "date"),
        ("event_id", "6f1c9f0e-8a4c-4b1e-9a51-3c3e1f0f0a02", None, "uuid"),
    ],
)
def test_each_value_takes_its_fields_type(field: str, text: str, value: Any, kind: str) -> None:
    [change] = replay_fields.typed("DefinePackage", {field: text})
    assert change.value == (text if value is None and kind == "uuid" else value)
    assert kind in change.kind
    assert json.dumps(change.value) in change.describe()


def test_booleans_and_integers_of_another_command() -> None:
    changes = replay_fields.typed(
        "AssignPackage", {"auto_decrement_credit": "False", "quantity": "3", "did": "null"}
    )
    assert [(c.name, c.value) for c in changes] == [
        ("auto_decrement_credit", False),
        ("quantity", 3),
        ("did", None),
    ]


@pytest.mark.parametrize(
    ("event_type", "field", "text", "words"),
    [
        ("DefinePackage", "free_minutes", "ten", "integer"),
        ("DefinePackage", "free_minutes", "1.5", "integer"),
        ("DefinePackage", "notify_at_percent", "80", "list"),
        ("DefinePackage", "retail", "null", "money"),  # retail takes no null
        ("DefinePackage", "retail", "5,00", "money"),
        ("DefinePackage", "cost", "five", "money"),
        ("AssignPackage", "auto_decrement_credit", "yes", "boolean"),
        ("DefinePackage", "no_such_field", "1", "has no field"),
    ],
)
def test_a_value_that_cannot_be_its_type_is_refused(
    event_type: str, field: str, text: str, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        replay_fields.typed(event_type, {field: text})


def test_every_money_field_of_every_message_is_written_as_a_string() -> None:
    """The class, not the example: whatever the message, a money field given a number-looking
    value travels as a JSON string."""
    seen = 0
    for event_type, model in MESSAGE_TYPES.items():
        properties = model.model_json_schema()["properties"]
        for name, field in model.model_fields.items():
            kinds = replay_fields._kinds(properties[name], {})
            if "Decimal" not in repr(field.annotation) or "string" not in kinds:
                continue  # not money (a map of totals is an object)
            [change] = replay_fields.typed(event_type, {name: "12.50"})
            assert change.value == "12.50" and "money" in change.kind, (event_type, name)
            seen += 1
    assert seen > 10


def test_the_replayed_bytes_carry_the_typed_values_and_pass_the_model() -> None:
    letter = _letter(_define())
    payload, headers, said = letters.replayable(letter, {"retail": "5.00", "notice_days": "7"})
    sent = json.loads(payload)
    assert sent["retail"] == "5.00" and sent["notice_days"] == 7
    assert headers["event_type"] == "DefinePackage"
    assert said[0] == 'set retail = "5.00" (money, as a JSON string such as "9.99")'
    MESSAGE_TYPES["DefinePackage"].model_validate_json(payload)  # readable now


def test_a_rule_broken_is_a_note_not_a_refusal() -> None:
    """A value of the right type that breaks a rule (a range) is sent: the service answers
    CommandRejected, which says why."""
    _, _, said = letters.replayable(_letter(_define(retail="5.00")), {"notice_days": "999"})
    assert any(line.startswith("note: notice_days") for line in said)


def test_a_fixed_event_type_is_typed_by_the_new_type() -> None:
    letter = _letter(_define(event_type="DefinePackag"))
    payload, headers, _ = letters.replayable(letter, {"event_type": "DefinePackage", "retail": "9"})
    assert json.loads(payload)["retail"] == "9" and headers["event_type"] == "DefinePackage"


def test_the_cli_refuses_before_sending_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = [_letter(_define(), 1), _letter(_define(free_minutes="x"), 2)]
    sent: list[Any] = []

    async def dead_letters(source: str) -> list[dict[str, Any]]:
        return kept

    async def replay(letter: Any, payload: bytes, headers: Any, timeout: float) -> Any:
        sent.append(json.loads(payload))
        return "handled", "PackageDefined"

    monkeypatch.setattr(letters, "dead_letters", dead_letters)
    monkeypatch.setattr(letters, "replay", replay)
    refused = runner.invoke(
        app,
        ["dlq", "replay", "catalog.commands", "1", "2", "--set", "free_minutes=ten"],
        env=ENV,
    )
    assert refused.exit_code == 2, refused.output
    assert "free_minutes" in refused.output and sent == []

    done = runner.invoke(
        app, ["dlq", "replay", "catalog.commands", "1", "--set", "retail=5.00"], env=ENV
    )
    assert done.exit_code == 0, done.output
    assert 'set retail = "5.00" (money, as a JSON string' in done.output
    assert [s["retail"] for s in sent] == ["5.00"]
