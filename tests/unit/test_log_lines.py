"""What a log line says of a consumed message, and how large it may get."""

from __future__ import annotations

import json

from pkgshared.incoming import incoming
from pkgshared.logs import MAX_VALUE_CHARS, cut_long_values
from pkgtools.testing.system import define_package


class _Record:
    def __init__(self, key: bytes, value: bytes) -> None:
        self.topic, self.partition, self.offset = "catalog.commands", 3, 42
        self.key, self.value, self.headers = key, value, []


def test_a_line_names_the_record_and_its_message() -> None:
    cmd = define_package("gold") | {"correlation_id": "ticket-7"}
    item = incoming("catalog.commands", _Record(b"gold", json.dumps(cmd).encode()))
    assert item.where() == {
        "topic": "catalog.commands",
        "partition": 3,
        "offset": 42,
        "key": "gold",
        "event_id": cmd["event_id"],
        "event_type": "DefinePackage",
        "correlation_id": "ticket-7",
    }


def test_a_rejected_command_is_named_and_a_huge_key_is_cut() -> None:
    cmd = define_package("gold", retail="-5.00")
    item = incoming("catalog.commands", _Record(b"k" * 100_000, json.dumps(cmd).encode()))
    where = item.where()
    assert (where["event_id"], where["event_type"]) == (cmd["event_id"], "DefinePackage")
    assert where["key"] == "k" * 128


def test_long_values_are_cut_and_say_how_long_they_were() -> None:
    line = cut_long_values(None, "info", {"event": "x", "error": "e" * 100_000, "n": 5})
    assert line["error"] == "e" * MAX_VALUE_CHARS + "... (100000 characters)"
    assert (line["event"], line["n"]) == ("x", 5)
