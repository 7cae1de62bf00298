"""Reading a record never raises anything but Unreadable or Rejected, whatever its bytes
(docs/contract.md §2 and §4 Errors): one record can never fail the poll of others. Every topic's
reader is fed arbitrary bytes and arbitrary JSON (huge integers and floats, NaN and Infinity,
duplicate keys, deep nesting inside and outside strings, every Unicode plane), alone and
grafted onto a valid message of the topic."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkgcontract import topics
from pkgcontract.messages import TOPIC_MESSAGES, Message, Rejected, Unreadable, read
from pkgcontract.messages.strict_json import MAX_DEPTH

pytestmark = pytest.mark.unit

TOPICS = sorted(TOPIC_MESSAGES)

VALID: dict[str, dict[str, Any]] = {
    topics.CATALOG_COMMANDS: {
        "event_type": "DefinePackage",
        "package_id": "uk-100",
        "name": "UK 100",
        "kind": "free_minutes",
        "retail": "5.00",
        "currency": "GBP",
        "frequency": "monthly",
        "frequency_match": [15],
        "free_minutes": 100,
    },
    topics.ASSIGNMENT_COMMANDS: {
        "event_type": "AssignPackage",
        "assignment_id": "0b6f5a52-51d6-4a45-9d4c-6a8e1c0e3f10",
        "customer_id": "cust-1",
        "package_id": "uk-100",
        "quantity": 2,
        "start_date": "2026-01-10",
    },
    topics.USAGE_RATED: {
        "event_type": "UsageRated",
        "usage_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "customer_id": "cust-1",
        "occurred_at": "2026-01-20T10:15:00Z",
        "amount": "0.600000",
        "currency": "GBP",
        "destination": "442071234567",
        "duration_seconds": 300,
    },
    topics.CLOCK_TICKS: {
        "event_type": "ClockTicked",
        "tick_id": "2d0c7a8e-44b6-4d0e-8d41-6b0f1a4cb7e5",
        "at": "2026-03-20T00:00:00Z",
    },
    topics.CHARGER_COMMANDS: {
        "event_type": "RunPackage",
        "request_id": "2d0c7a8e-44b6-4d0e-8d41-6b0f1a4cb7e6",
        "customer_id": "cust-1",
        "date": "2026-03-20",
        "simulate": True,
    },
}


def _with_envelope(obj: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "occurred_at": "2026-01-01T00:00:00Z", **obj}


def _outcome(topic: str, raw: bytes | None, key: bytes | None = None) -> str:
    """What reading gives; anything but a message, Rejected or Unreadable fails the test."""
    try:
        message = read(topic, raw, key=key)
    except Unreadable as exc:
        assert exc.error
        return "unreadable"
    except Rejected as exc:
        assert exc.errors and exc.reason
        return "rejected"
    assert isinstance(message, Message)
    return "read"


# Text of every plane, surrogates included (JSON can write them as escapes).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
HUGE_INTS = st.one_of(
    st.integers(),
    st.integers(min_value=2**31 - 2, max_value=2**63 + 2),
    st.integers(min_value=10**30, max_value=10**40),
    st.just(2**31),
    st.just(-(2**63) - 1),
)
FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.just(1e308)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | HUGE_INTS | FLOATS | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TOPICS), st.binary(max_size=400), st.none() | st.binary(max_size=20))
def test_any_bytes(topic: str, raw: bytes, key: bytes | None) -> None:
    _outcome(topic, raw, key)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TOPICS), JSON_VALUES)
def test_any_json(topic: str, value: Any) -> None:
    _outcome(topic, json.dumps(value).encode())


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(VALID)),
    st.data(),
    JSON_VALUES,
    st.sampled_from(["", "nan", "inf", "-inf", "digits", "dup", "deep", "deep_string"]),
)
def test_any_field_of_a_valid_message(topic: str, data: Any, value: Any, oddity: str) -> None:
    obj = _with_envelope(VALID[topic])
    name = data.draw(st.sampled_from(sorted(obj)))
    obj[name] = value
    text = json.dumps(obj)
    shown = json.dumps(name)
    if oddity in ("nan", "inf", "-inf"):
        text = text.replace(
            f"{shown}: ",
            f'{shown}: {({"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"})[oddity]}, "_": ',
            1,
        )
    elif oddity == "digits":
        text = text[:-1] + ', "quantity": ' + "9" * 5000 + "}"
    elif oddity == "dup":
        text = text[:-1] + f", {shown}: 1}}"
    elif oddity == "deep":
        text = text[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}"
    elif oddity == "deep_string":
        text = text[:-1] + ', "x": "' + "[{" * 5000 + '"}'
    _outcome(topic, text.encode())


@pytest.mark.parametrize("topic", sorted(VALID))
def test_the_valid_messages_read(topic: str) -> None:
    assert _outcome(topic, json.dumps(_with_envelope(VALID[topic])).encode()) == "read"


@pytest.mark.parametrize("topic", sorted(VALID))
def test_brackets_inside_strings_never_make_a_message_unreadable(topic: str) -> None:
    obj = _with_envelope(VALID[topic]) | {"note": "[" * (MAX_DEPTH * 4), "other": "{" * 5000}
    if topic == topics.CATALOG_COMMANDS:
        obj["description"] = "[" * 40 + " a description with brackets"
    assert _outcome(topic, json.dumps(obj).encode()) == "read"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"a": ' + "9" * 5000 + "}", "not JSON"),
        ('{"a": NaN}', "NaN"),
        ('{"a": -Infinity}', "Infinity"),
        ('{"a": 1, "a": 2}', "appears twice"),
        ('{"a": {"b": 1, "b": 1}}', "appears twice"),
        ("[" * 33 + "]" * 33, "nested deeper"),
        ('{"a": ' + "[" * 40 + '"]]]"' + "]" * 40 + "}", "nested deeper"),
    ],
)
def test_what_cannot_be_read_says_why(text: str, fragment: str) -> None:
    for topic in TOPICS:
        with pytest.raises(Unreadable, match=fragment):
            read(topic, text.encode())


def test_a_duplicate_key_in_a_valid_command_makes_it_unreadable_not_last_wins() -> None:
    obj = _with_envelope(VALID[topics.CATALOG_COMMANDS])
    text = json.dumps(obj)[:-1] + ', "package_id": "other"}'
    assert _outcome(topics.CATALOG_COMMANDS, text.encode()) == "unreadable"


@pytest.mark.parametrize(
    ("topic", "field"),
    [
        (topics.CATALOG_COMMANDS, "package_id"),
        (topics.ASSIGNMENT_COMMANDS, "customer_id"),
        (topics.CHARGER_COMMANDS, "customer_id"),
    ],
)
def test_a_command_under_another_key_than_its_field_is_rejected(topic: str, field: str) -> None:
    obj = _with_envelope(VALID[topic])
    raw = json.dumps(obj).encode()
    assert _outcome(topic, raw, key=obj[field].encode()) == "read"
    assert _outcome(topic, raw, key=None) == "read"  # no key: nothing to compare
    with pytest.raises(Rejected) as info:
        read(topic, raw, key=b"someone-else")
    assert [e.field for e in info.value.errors] == [field]
    assert "someone-else" in info.value.reason


def test_commands_that_do_not_carry_the_key_field_are_read_under_any_key() -> None:
    end = _with_envelope(
        {"event_type": "EndAssignment", "assignment_id": "0b6f5a52-51d6-4a45-9d4c-6a8e1c0e3f10"}
    )
    assert _outcome(topics.ASSIGNMENT_COMMANDS, json.dumps(end).encode(), b"cust-9") == "read"


@pytest.mark.parametrize(
    ("zone", "outcome"),
    [
        ("Europe/London", "read"),
        ("US/Eastern", "read"),  # a link of the IANA database
        ("Etc/GMT+5", "read"),
        ("posixrules", "rejected"),  # a file beside the zones, not a zone
        ("posix/Europe/London", "rejected"),
        ("right/UTC", "rejected"),
        ("Europe/../Europe/London", "rejected"),
        ("zone.tab", "rejected"),
        ("europe/london", "rejected"),
    ],
)
def test_timezones_are_zone_names_of_the_database(zone: str, outcome: str) -> None:
    obj = _with_envelope(VALID[topics.ASSIGNMENT_COMMANDS]) | {"timezone": zone}
    assert _outcome(topics.ASSIGNMENT_COMMANDS, json.dumps(obj).encode()) == outcome


@pytest.mark.parametrize(
    ("topic", "field", "value", "outcome"),
    [
        (topics.CATALOG_COMMANDS, "free_minutes", 1_000_000, "read"),
        (topics.CATALOG_COMMANDS, "free_minutes", 1_000_001, "rejected"),
        (topics.CATALOG_COMMANDS, "free_minutes", 2**31, "rejected"),
        (topics.ASSIGNMENT_COMMANDS, "free_minutes", 1_000_000, "read"),
        (topics.ASSIGNMENT_COMMANDS, "free_minutes", 2**31, "rejected"),
        (topics.ASSIGNMENT_COMMANDS, "quantity", 10**30, "rejected"),
        (topics.USAGE_RATED, "duration_seconds", 604_800, "read"),
        (topics.USAGE_RATED, "duration_seconds", 604_801, "unreadable"),
        (topics.USAGE_RATED, "duration_seconds", 2**31, "unreadable"),
        (topics.USAGE_RATED, "duration_seconds", 10**30, "unreadable"),
    ],
)
def test_bounded_integers(topic: str, field: str, value: int, outcome: str) -> None:
    obj = _with_envelope(VALID[topic]) | {field: value}
    assert _outcome(topic, json.dumps(obj).encode()) == outcome
