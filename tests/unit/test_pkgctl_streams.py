"""pkgctl tail and trace, the pure parts (issue 35): which topics a pattern names, which
records a filter keeps, records in time order across topics and partitions (a partition's own
order kept), the last N; which messages carry an id, what a command brings along, and what
became of each command."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from pkgcontract import topics
from pkgctl import streams, tracing
from pkgtools.topic_io import Record

pytestmark = pytest.mark.unit


def _rec(
    topic: str, partition: int, offset: int, ts: int | None, body: Any = None, key: str = "k"
) -> Record:
    value = json.dumps(body).encode() if body is not None else b"not json"
    return Record(topic, partition, offset, key.encode(), value, {}, ts)


def test_patterns_name_contract_topics_and_dlqs_only_when_asked() -> None:
    billing = streams.expand(["billing.*"])
    assert billing == [
        topics.CREDIT_DEBITED,
        topics.FREE_MINUTES_GRANTED,
        topics.FREE_MINUTES_USED,
        topics.ALLOWANCE_BALANCES,
        topics.ALLOWANCE_ALERTS,
        topics.CREDITS_ISSUED,
    ]
    assert not any(n.endswith(".dlq") for n in streams.expand(["*"]))
    assert streams.expand(["*.dlq"]) == [topics.dlq_topic(t) for t in topics.CONSUMED_TOPICS]
    assert streams.expand(["usage.rated.dlq", "usage.rated", "usage.*"]) == [
        topics.USAGE_RATED,
        topics.dlq_topic(topics.USAGE_RATED),
    ]
    for unknown in ("bill.*", "catalog", "usage.rated.dlq.dlq", ""):
        with pytest.raises(ValueError, match="unknown topic"):
            streams.expand([unknown])


def test_time_order_across_topics_keeps_each_partitions_order() -> None:
    a0 = _rec("a", 0, 0, 100, {"n": 1})
    a1 = _rec("a", 0, 1, 90, {"n": 2})  # stamped before its predecessor: stays after it
    b0 = _rec("b", 0, 0, 95, {"n": 3})
    b1 = _rec("b", 1, 7, 101, {"n": 4})
    c = _rec("c", 0, 3, None, {"n": 5})  # no timestamp: first
    ordered = streams.in_time([b1, a1, c, b0, a0])
    assert [streams.as_json(r)["n"] for r in ordered] == [5, 3, 1, 2, 4]
    assert [streams.as_json(r)["n"] for r in streams.last([b1, a1, c, b0, a0], 2)] == [2, 4]
    assert streams.last([a0], 0) == []
    assert streams.when(a0) == "1970-01-01T00:00:00.100Z" and streams.when(c) == ""


def test_filters_by_key_customer_and_type() -> None:
    mine = _rec("t", 0, 0, 1, {"event_type": "CreditDebited", "customer_id": "c1"}, key="c1")
    theirs = _rec("t", 0, 1, 2, {"event_type": "CreditDebited", "customer_id": "c2"}, key="c2")
    keyed_other = _rec("t", 0, 2, 3, {"event_type": "GrantBalance", "customer_id": "c1"}, "g")
    garbage = _rec("t", 0, 3, 4, None, key="c1")
    records = [mine, theirs, keyed_other, garbage]

    def kept(f: streams.Filter) -> list[int]:
        return [r.offset for r in records if f.keeps(r, streams.as_json(r))]

    assert kept(streams.Filter()) == [0, 1, 2, 3]
    assert kept(streams.Filter(customer="c1")) == [0, 2, 3]
    assert kept(streams.Filter(key="c1")) == [0, 3]
    assert kept(streams.Filter(types=frozenset({"GrantBalance"}))) == [2]
    assert kept(streams.Filter(customer="c1", types=frozenset({"CreditDebited"}))) == [0]
    assert kept(streams.Filter(key="nobody")) == []


CMD = "0f0f0f0f-0000-4000-8000-000000000001"
CORR = "c0c0c0c0-0000-4000-8000-000000000002"
AID = "a1a1a1a1-0000-4000-8000-000000000003"


def _command(**fields: Any) -> dict[str, Any]:
    return {"event_type": "AssignPackage", "event_id": CMD, "assignment_id": AID} | fields


def test_an_id_is_carried_anywhere_in_a_message_or_in_a_dead_letters_bytes() -> None:
    ids = {AID}
    assert tracing.carries({"lines": [{"assignment_id": AID}]}, ids)
    assert tracing.carries({"x": 1}, ids, key=AID)
    assert not tracing.carries({"assignment_id": AID[:-1]}, ids)
    letter = {
        "event_type": "DeadLetter",
        "payload_base64": base64.b64encode(json.dumps(_command()).encode()).decode(),
    }
    assert tracing.carries(letter, ids)
    assert not tracing.carries(letter | {"payload_base64": "!!"}, ids)


def test_a_command_brings_its_correlation_id_along() -> None:
    objs = [_command(correlation_id=CORR), {"event_type": "PackageAssigned"}]
    assert tracing.brought_along(objs, CMD) == {CMD, CORR}
    assert tracing.brought_along(objs, AID) == {AID}
    assert tracing.brought_along([_command()], CMD) == {CMD}


def test_outcomes_accepted_rejected_dead_lettered_or_none() -> None:
    sent = (topics.ASSIGNMENT_COMMANDS, _command(correlation_id=CORR))
    caused = (topics.ASSIGNMENT_EVENTS, {"event_type": "PackageAssigned", "correlation_id": CORR})
    charged = (topics.CREDIT_DEBITED, {"event_type": "CreditDebited", "correlation_id": CORR})
    other = (topics.ASSIGNMENT_EVENTS, {"event_type": "PackageAssigned", "correlation_id": "x"})
    rejected = (
        topics.ASSIGNMENT_EVENTS,
        {"event_type": "CommandRejected", "command_id": CMD, "reason": "no such package"},
    )
    letter = (
        topics.dlq_topic(topics.ASSIGNMENT_COMMANDS),
        {
            "event_type": "DeadLetter",
            "error": "boom",
            "payload_base64": base64.b64encode(json.dumps(sent[1]).encode()).decode(),
        },
    )
    (ok,) = tracing.outcomes([sent, caused, charged, other])
    assert (ok["outcome"], ok["detail"]) == ("accepted", "PackageAssigned, CreditDebited")
    (no,) = tracing.outcomes([sent, rejected])
    assert (no["outcome"], no["detail"]) == ("rejected", "no such package")
    (dead,) = tracing.outcomes([sent, letter])
    assert (dead["outcome"], dead["detail"]) == ("dead-lettered", "boom")
    (none,) = tracing.outcomes([sent, other])
    assert none["outcome"] == "no outcome seen"
    # Without a correlation_id: its answer topic's events after it.
    bare = (topics.ASSIGNMENT_COMMANDS, _command())
    answer = (topics.ASSIGNMENT_EVENTS, {"event_type": "PackageAssigned"})
    assert tracing.outcomes([answer, bare])[0]["outcome"] == "no outcome seen"
    assert tracing.outcomes([bare, answer])[0]["outcome"] == "accepted"
    assert tracing.outcomes([caused, charged]) == []  # no command among them
    assert tracing.role(*rejected).startswith("REJECTED")
    assert tracing.role(*letter).startswith("DEAD-LETTERED")
    assert tracing.role(*sent) == "sent" and tracing.role(*caused) == "event"
