"""The fast path for UsageRated (pkgcontract.messages.fast) against the general reader: on any
input, what the fast path accepts the general reader accepts too, as an equal message; what
the fast path leaves alone the general reader decides. And plain messages do take it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pkgcontract import topics
from pkgcontract.messages import Rejected, Unreadable, UsageRated, read
from pkgcontract.messages.fast import usage_rated

USAGE_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
EVENT_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _plain() -> dict[str, Any]:
    return {
        "event_id": EVENT_ID,
        "event_type": "UsageRated",
        "schema_version": 1,
        "occurred_at": "2026-01-20T10:15:00Z",
        "usage_id": USAGE_ID,
        "customer_id": "uk-100",
        "did": "441234567890",
        "amount": "0.600000",
        "currency": "GBP",
        "destination": "442071234567",
        "duration_seconds": 300,
    }


ODD: dict[str, list[Any]] = {
    "event_id": [
        USAGE_ID.upper(),
        USAGE_ID.replace("-", ""),
        "{" + USAGE_ID + "}",
        "urn:uuid:" + USAGE_ID,
        USAGE_ID[:8] + "-" + USAGE_ID[9:],
        "0f8fad5b-d9cb-469f-a165-70867728950",
        "",
        17,
        None,
    ],
    "event_type": ["usagerated", "CreditDebited", None, 1],
    "schema_version": [2, 0, "1", True, 1.0, None],
    "occurred_at": [
        "2026-01-20T10:15:00+05:30",
        "2026-01-20T10:15:00.123456Z",
        "2026-01-20T10:15:00.1234567Z",
        "2026-01-20 10:15:00Z",
        "2026-01-20T10:15Z",
        "2026-01-20T10:15:00",
        "2026-01-20",
        "2026-01-20T10:15:00z",
        "20260120T101500Z",
        "1899-12-31T23:59:59Z",
        "1900-01-01T00:00:00Z",
        "2999-12-31T23:59:59Z",
        "3000-01-01T00:00:00Z",
        "0001-01-01T00:30:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2026-02-30T00:00:00Z",
        "1700000000",
        1700000000,
        None,
    ],
    "usage_id": [USAGE_ID.replace("-", ""), "urn:uuid:" + USAGE_ID, "nope", [], None],
    "customer_id": ["", "x" * 64, "x" * 65, "tab\there", "new\nline", "é", "\x7f", 5, None],
    "did": ["12345", "123456", "1" * 15, "1" * 16, "+441234567890", "٤٤١٢٣٤٥٦٧٨٩", 441234567890],
    "amount": [
        "0",
        "-1.5",
        "1e3",
        "1.",
        ".5",
        " 1.0",
        "1.1234567",
        "1" * 10,
        "1" * 11,  # more than 10 digits before the point: a dead letter
        "9999999999.999999",
        "-10000000000",
        "1" * 18,
        "1" * 19,
        "0.600000\n",
        "1٣.5",
        0.6,
        6,
        None,
    ],
    "currency": ["gbp", "GB", "GBPP", "GBP\n", 1, None],
    "destination": ["", "4", "1" * 15, "1" * 16, "44a", None, 44],
    "duration_seconds": [0, -1, 2**63, 2**70, True, 1.0, 300.5, "300", None],
    "correlation_id": ["c" * 200, "c" * 201, "", 5, None],
}

field_changes = st.dictionaries(
    st.sampled_from(sorted(ODD)),
    st.one_of(st.just("<drop>"), st.integers(min_value=0, max_value=40)),
    max_size=4,
)


def _general(raw: bytes) -> UsageRated | None:
    try:
        message = read(topics.USAGE_RATED, raw, fast_path=False)
    except (Unreadable, Rejected):
        return None
    assert isinstance(message, UsageRated)
    return message


def _agree(raw: bytes) -> UsageRated | None:
    fast = usage_rated(raw)
    general = _general(raw)
    if fast is not None:
        assert general is not None, (
            f"the fast path accepted what the general reader refuses: {raw!r}"
        )
        assert fast == general
        assert fast.model_dump() == general.model_dump()
        assert fast.to_json() == general.to_json()
        for name in UsageRated.model_fields:
            assert type(getattr(fast, name)) is type(getattr(general, name)), name
        assert fast.occurred_at.tzinfo == general.occurred_at.tzinfo
    return fast


@settings(max_examples=600, deadline=None)
@given(changes=field_changes, extra=st.booleans(), spaced=st.booleans())
def test_the_fast_path_accepts_only_what_the_general_reader_accepts_and_reads_it_alike(
    changes: dict[str, Any], extra: bool, spaced: bool
) -> None:
    obj = _plain()
    for name, choice in changes.items():
        if choice == "<drop>":
            obj.pop(name, None)
        else:
            odd = ODD[name]
            obj[name] = odd[choice % len(odd)]
    if extra:
        obj["unknown"] = {"nested": [1, 2, {"x": None}]}
    raw = json.dumps(obj, indent=1 if spaced else None, ensure_ascii=False).encode()
    _agree(raw)


@given(st.binary(max_size=300))
@example(b'{"event_type": "UsageRated"}')
def test_any_bytes_read_alike(raw: bytes) -> None:
    _agree(raw)


def test_texts_the_fast_path_must_leave_to_the_general_reader() -> None:
    plain = json.dumps(_plain())
    cases = [
        plain.replace('"uk-100"', '"uk\\u0000100"'),  # NUL, as JSON must write it
        plain.replace('"uk-100"', '"uk\\ud800"'),  # a lone surrogate
        plain.replace('"uk-100"', '"uk\\u0041"'),  # an escape that is harmless
        plain[:-1] + ', "amount": "-7"}',  # a repeated key: unreadable
        plain[:-1] + ',"amount" :"-7"}',  # the same, spaced otherwise
        plain[:-1] + ', "x": "' + "[" * 40 + '"}',  # brackets inside a string: readable
        plain[:-1] + ', "x": ' + "[" * 40 + "]" * 40 + "}",  # deeper than the bound
        plain.replace('"2026-01-20T10:15:00Z"', "NaN"),
        plain.replace("300", "3" * 400),
        plain.replace('"uk-100"', '"uk\x00100"'),  # raw control characters: not JSON
        plain.replace('"uk-100"', '"uk\t100"'),
        plain.replace('"GBP"', '"GB\nP"'),
        "\ufeff" + plain,  # a byte order mark
        plain + " x",
    ]
    for text in cases:
        _agree(text.encode())
    for repeated in (cases[3], cases[4]):
        assert _general(repeated.encode()) is None
    assert _general(cases[5].encode()) is not None


def test_plain_messages_take_the_fast_path() -> None:
    assert _agree(json.dumps(_plain()).encode()) is not None
    for name in ("did", "destination", "duration_seconds", "correlation_id", "schema_version"):
        obj = _plain()
        obj.pop(name, None)
        assert _agree(json.dumps(obj).encode()) is not None, name
    minute = {**_plain(), "occurred_at": "2026-01-20T10:15:00+01:00", "usage_id": str(uuid.uuid4())}
    read_fast = _agree(json.dumps(minute).encode())
    assert read_fast is not None and read_fast.occurred_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
