"""Property-based fuzzing of the command topics: malformed bytes, wrong types and boundary
values, interleaved with valid commands. Each bad message gets CommandRejected or a
DeadLetter, nothing else; every valid command still gets its event; the services stay up."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pkgcontract import topics
from pkgtools.testing.kafka import Record, produce_keyed
from pkgtools.testing.system import System, command, define_package

COUNTS = {"messages": 0, "rejected": 0, "dead_lettered": 0, "valid": 0}

junk_bytes = st.binary(min_size=0, max_size=200)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
boundary_define = st.fixed_dictionaries(
    {
        "package_id": st.sampled_from(["ok-pkg", "", "x" * 65, "bad id", "ünïcode", "a\u0000"]),
        "name": st.sampled_from(["n", "", "x" * 5000, "RT\u0000nul", "bell\u0007", "tab\tok"]),
        "effective_from": st.sampled_from([None, "1899-12-31", "1900-01-01", "3000-01-01"]),
        "kind": st.sampled_from(["recurring", "free_minutes", "minimum_spend", "nope"]),
        "retail": st.sampled_from(["5.00", "-1", "1.1234567", "1e5", "abc", "0"]),
        "currency": st.sampled_from(["GBP", "gbp", "EURO"]),
        "frequency": st.sampled_from(["daily", "weekly", "monthly", "yearly", "hourly"]),
        "frequency_match": st.sampled_from([[], [0], [15, 31], ["02-29"], ["13-01"], [8]]),
    }
)
boundary_assign = st.fixed_dictionaries(
    {
        "assignment_id": st.sampled_from([str(uuid.uuid4()), "not-a-uuid"]),
        "customer_id": st.sampled_from(["c1", "", "c" * 65, "c\u0000", "c\u0001", "\ud800"]),
        "package_id": st.sampled_from(["ok-pkg", "missing-pkg"]),
        "quantity": st.sampled_from([0, 1, 100000, 100001, -5]),
        "start_date": st.sampled_from(
            ["2026-01-01", "2026-02-30", "yesterday", "0001-01-01", "1900-01-01", "9999-12-31"]
        ),
        "end_date": st.sampled_from([None, "2025-12-31", "2026-06-30", "2999-12-31", "3000-01-01"]),
        "timezone": st.sampled_from(
            ["UTC", "Mars/Olympus", "Europe/London", "Asia/Tokyo", "UTC\n"]
        ),
        "did": st.sampled_from([None, "12", "441234567890", "+44123"]),
    }
)


# Deep nesting, and sizes up to 2 MB (the largest record the topics take is 4 MiB).
nested = st.tuples(st.integers(33, 20_000), st.sampled_from([b"[", b'{"a":']))
huge = st.tuples(st.integers(300_000, 2_000_000), st.sampled_from([b"\xff", b"x", b'{"a":"']))


def bad_message(draw_kind: str, value: Any) -> tuple[str, bytes]:
    if draw_kind == "bytes":
        return topics.ASSIGNMENT_COMMANDS, value
    if draw_kind == "nested":
        depth, opener = value
        closer = b"]" if opener == b"[" else b"}"
        return topics.CATALOG_COMMANDS, opener * depth + b"1" + closer * depth
    if draw_kind == "huge":
        size, unit = value
        return topics.ASSIGNMENT_COMMANDS, (unit * size)[:size]
    if draw_kind == "json":
        return topics.CATALOG_COMMANDS, json.dumps(value).encode()
    if draw_kind == "define":
        return topics.CATALOG_COMMANDS, json.dumps(command("DefinePackage", **value)).encode()
    return topics.ASSIGNMENT_COMMANDS, json.dumps(command("AssignPackage", **value)).encode()


fuzz = st.one_of(
    st.tuples(st.just("bytes"), junk_bytes),
    st.tuples(st.just("json"), json_values),
    st.tuples(st.just("define"), boundary_define),
    st.tuples(st.just("assign"), boundary_assign),
    st.tuples(st.just("nested"), nested),
    st.tuples(st.just("huge"), huge),
)


@pytest.fixture(scope="module")
def fuzz_system(system: System, figures: Counter[str]) -> Iterator[System]:
    for module in ("catalog", "assignment"):
        system.service(module).start()
    for process in system.services.values():
        process.wait_healthy()
    yield system
    figures.update({f"fuzzing: {name}": n for name, n in COUNTS.items()})


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(fuzz, min_size=1, max_size=12))
async def test_bad_input_gets_an_answer_and_valid_input_still_works(
    fuzz_system: System, batch: list[tuple[str, Any]]
) -> None:
    s = fuzz_system
    sent = [bad_message(kind, value) for kind, value in batch]
    valid_pkg = f"fz-{uuid.uuid4().hex[:8]}"
    valid = define_package(valid_pkg)
    items = [(f"k{i}", raw) for i, (_, raw) in enumerate(sent)]
    by_topic: dict[str, list[tuple[str, bytes]]] = {}
    for (topic, _), item in zip(sent, items, strict=True):
        by_topic.setdefault(topic, []).append(item)
    async with s.reader(
        topics.CATALOG_PACKAGES,
        topics.ASSIGNMENT_EVENTS,
        topics.CATALOG_COMMANDS + ".dlq",
        topics.ASSIGNMENT_COMMANDS + ".dlq",
    ) as reader:
        for topic, pairs in by_topic.items():
            await produce_keyed(s.bootstrap, s.topic(topic), pairs)
        await produce_keyed(
            s.bootstrap, s.topic(topics.CATALOG_COMMANDS), [(valid_pkg, json.dumps(valid).encode())]
        )

        def answered(records: list[Record]) -> bool:
            return all(_answer(records, raw) for _, raw in sent) and any(
                _json(r).get("package_id") == valid_pkg
                and _json(r).get("event_type") == "PackageDefined"
                for r in records
            )

        await reader.wait_for(answered, timeout=60, what="an answer to every message")
        for _, raw in sent:
            kind = _answer(reader.records, raw)
            COUNTS["rejected" if kind == "rejected" else "dead_lettered"] += kind != "event"
        COUNTS["messages"] += len(sent)
        COUNTS["valid"] += 1
    for process in s.services.values():
        assert process.proc is not None and process.proc.poll() is None, process.tail()


def _json(record: Record) -> dict[str, Any]:
    try:
        obj = json.loads(record.value or b"")
    except (ValueError, RecursionError):
        return {}
    return obj if isinstance(obj, dict) else {}


def _answer(records: list[Record], raw: bytes) -> str | None:
    """How `raw` was answered: rejected, dead_lettered, event (a valid one), or None yet."""
    import base64
    import hashlib

    try:
        sent = json.loads(raw)
    except (ValueError, RecursionError):
        sent = None
    digest = hashlib.sha256(raw).hexdigest()
    event_id = sent.get("event_id") if isinstance(sent, dict) else None
    for r in records:
        obj = _json(r)
        if obj.get("event_type") == "DeadLetter" and (
            obj.get("payload_sha256") == digest
            or base64.b64decode(obj.get("payload_base64", "")) == raw
        ):
            return "dead_lettered"
        if (
            event_id
            and obj.get("event_type") == "CommandRejected"
            and obj.get("command_id") == event_id
        ):
            return "rejected"
        if (
            event_id
            and isinstance(sent, dict)
            and (
                (
                    obj.get("event_type") == "PackageDefined"
                    and obj.get("package_id") == sent.get("package_id")
                )
                or (
                    obj.get("event_type") == "PackageAssigned"
                    and obj.get("assignment_id") == sent.get("assignment_id")
                )
            )
        ):
            return "event"
    return None
