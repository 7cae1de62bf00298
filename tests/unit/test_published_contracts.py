"""The committed AsyncAPI documents and JSON Schemas are what the code generates now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("contracts", ROOT / "scripts" / "contracts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_documents_match_the_code() -> None:
    documents = load_generator().documents()
    stale = [
        str(path.relative_to(ROOT))
        for path, text in documents.items()
        if not path.exists() or path.read_text() != text
    ]
    assert not stale, f"regenerate with `uv run python scripts/contracts.py`: {stale}"
    committed = {p for p in (ROOT / "docs" / "schemas").glob("*.json")}
    assert committed == {p for p in documents if p.parent.name == "schemas"}


def test_every_service_documents_the_topics_it_reads_and_writes() -> None:
    import json

    documents = load_generator().documents()
    channels = {
        path.stem: set(json.loads(text)["channels"])
        for path, text in documents.items()
        if path.parent.name == "asyncapi"
    }
    assert channels["catalog"] == {"catalog.commands", "catalog.commands.dlq", "catalog.packages"}
    assert channels["assignment"] == {
        "assignment.commands",
        "assignment.commands.dlq",
        "catalog.packages",
        "catalog.packages.dlq",
        "assignment.events",
    }
    assert channels["charger"] >= {
        "clock.ticks",
        "assignment.events",
        "usage.rated",
        "charger.commands",
        "billing.credit-debited",
        "billing.free-minutes-granted",
        "charger.events",
        "usage.rated.dlq",
    }


def test_every_message_documents_its_key_header_and_correlation_id() -> None:
    import json

    for path, text in load_generator().documents().items():
        if path.parent.name != "asyncapi":
            continue
        for name, message in json.loads(text)["components"]["messages"].items():
            topic = name.split(":", 1)[0]
            key = message["bindings"]["kafka"]["key"]["description"]
            if not topic.endswith(".dlq"):
                assert key.startswith("Key: "), (path.name, name)
            assert message["headers"]["required"] == ["event_type"], (path.name, name)
            assert message["correlationId"]["location"] == "$message.payload#/correlation_id"


# ------------------------------------------------------------------ strict schemas
# (message type, changes to a valid example, whether the services' reader refuses it too;
# it fills in a missing envelope field, the published schema requires it)
_INVALID: list[tuple[str, dict[str, object], bool]] = [
    ("DefinePackage", {"event_id": None}, False),
    ("DefinePackage", {"occurred_at": None}, False),
    ("DefinePackage", {"event_type": None}, True),
    ("DefinePackage", {"retail": "-5.00"}, True),
    ("DefinePackage", {"retail": "9.9999999"}, True),
    ("DefinePackage", {"cost": "-0.01"}, True),
    ("DefinePackage", {"frequency_match": []}, True),
    ("DefinePackage", {"frequency_match": None}, True),
    ("DefinePackage", {"frequency_match": [32]}, True),
    ("DefinePackage", {"frequency": "weekly", "frequency_match": [0]}, True),
    ("DefinePackage", {"frequency": "yearly", "frequency_match": ["02-30"]}, True),
    ("DefinePackage", {"frequency": "yearly", "frequency_match": [1]}, True),
    ("DefinePackage", {"frequency": "daily", "frequency_match": [1]}, True),
    ("DefinePackage", {"kind": "free_minutes"}, True),
    ("DefinePackage", {"free_minutes": 100}, True),
    ("DefinePackage", {"destination_prefixes": ["44"]}, True),
    ("DefinePackage", {"retail": "10000000000"}, True),
    ("DefinePackage", {"setup_cost": "10000000000.000001"}, True),
    ("SetSpendLimit", {"monthly_limit": "-1"}, True),
    ("SetSpendLimit", {"monthly_limit": "99999999999"}, True),
    ("AssignPackage", {"did": "12345"}, True),
    ("AssignPackage", {"quantity": 0}, True),
]
_VALID: list[tuple[str, dict[str, object]]] = [
    ("DefinePackage", {}),
    ("DefinePackage", {"frequency": "yearly", "frequency_match": ["02-29", "12-31"]}),
    ("DefinePackage", {"frequency": "daily", "frequency_match": []}),
    ("DefinePackage", {"frequency": "daily", "frequency_match": None}),
    ("DefinePackage", {"kind": "free_minutes", "free_minutes": 100, "destination_prefixes": []}),
    ("DefinePackage", {"retail": "9999999999.999999", "setup_retail": "9999999999"}),
    ("SetSpendLimit", {"monthly_limit": None}),
    ("SetSpendLimit", {"monthly_limit": "9999999999.999999"}),
    ("AssignPackage", {"did": "441234567890"}),
]


def _example(message_type: str, changes: dict[str, object]) -> dict[str, object]:
    import uuid

    base: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "event_type": message_type,
        "schema_version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
    }
    body: dict[str, dict[str, object]] = {
        "DefinePackage": {
            "package_id": "gold",
            "name": "Gold",
            "kind": "recurring",
            "retail": "5.00",
            "currency": "GBP",
            "frequency": "monthly",
            "frequency_match": [1],
        },
        "SetSpendLimit": {"customer_id": "acme", "monthly_limit": "10.00", "currency": "GBP"},
        "AssignPackage": {
            "assignment_id": str(uuid.uuid4()),
            "customer_id": "acme",
            "package_id": "gold",
            "quantity": 1,
            "start_date": "2026-01-01",
        },
    }
    example = base | body[message_type] | changes
    return {k: v for k, v in example.items() if v is not None or k not in base}


_TOPIC = {
    "DefinePackage": "catalog.commands",
    "SetSpendLimit": "assignment.commands",
    "AssignPackage": "assignment.commands",
}


def _validator(message_type: str):  # type: ignore[no-untyped-def]
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "docs" / "schemas" / f"{message_type}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_schemas_refuse_what_the_contract_refuses() -> None:
    import json

    from pkgcontract.messages import Rejected, Unreadable, read

    for message_type, changes, reader_refuses in _INVALID:
        example = _example(message_type, changes)
        errors = list(_validator(message_type).iter_errors(example))
        assert errors, f"{message_type} {changes} passed its published schema"
        if reader_refuses:
            try:
                read(_TOPIC[message_type], json.dumps(example).encode())
            except (Rejected, Unreadable):
                continue
            raise AssertionError(f"{message_type} {changes} passed the services' reader")


def test_the_schemas_accept_what_the_services_accept() -> None:
    import json

    from pkgcontract.messages import read

    for message_type, changes in _VALID:
        example = _example(message_type, changes)
        errors = [e.message for e in _validator(message_type).iter_errors(example)]
        assert not errors, f"{message_type} {changes}: {errors}"
        read(_TOPIC[message_type], json.dumps(example).encode())
