"""The relay's publishing path without a broker (pkgshared.kafka.BatchPublisher,
pkgshared.outbox): each record goes to its prefixed topic and to the partition of its key's
murmur2, each partition's records in the order given, with its event type as a header; the
relay's batch size comes from the settings (OUTBOX_BATCH_EVENTS)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pkgshared.kafka import BatchPublisher, murmur2
from pkgshared.outbox import _Headers
from pkgshared.settings import ServiceSettings


class Batch:
    def __init__(self, room: int) -> None:
        self.records: list[tuple[bytes | None, bytes, Any]] = []
        self.room = room

    def append(self, *, key: bytes | None, value: bytes, timestamp: None, headers: Any) -> Any:
        if len(self.records) >= self.room:
            return None
        self.records.append((key, value, headers))
        return object()


class Producer:
    """What BatchPublisher asks of aiokafka's producer, recording what it was sent."""

    def __init__(self, partitions: dict[str, int], room: int = 3) -> None:
        self.partitions = partitions
        self.room = room
        self.sent: list[tuple[str, int, list[tuple[bytes | None, bytes, Any]]]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions[topic]))

    def create_batch(self) -> Batch:
        return Batch(self.room)

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> Any:
        self.sent.append((topic, partition, batch.records))

        async def acked() -> None:
            return None

        return acked()


async def test_records_go_to_their_prefixed_topic_and_keys_partition_in_order() -> None:
    producer = Producer({"p.a": 6, "p.b": 3})
    publish = BatchPublisher(producer, "p.")
    headers = [("event_type", b"E")]
    records = [
        (topic, f"k{i % 4}".encode(), f"{topic}-{i}".encode(), headers)
        for i in range(20)
        for topic in ("a", "b")
    ]
    await publish(records)
    got: dict[tuple[str, int], list[bytes]] = {}
    for topic, partition, batch in producer.sent:
        for key, value, sent_headers in batch:
            assert key is not None
            assert partition == (murmur2(key) & 0x7FFFFFFF) % producer.partitions[topic]
            assert sent_headers == headers
            got.setdefault((topic, partition), []).append(value)
    assert sorted(v for vs in got.values() for v in vs) == sorted(r[2] for r in records)
    for (topic, partition), values in got.items():
        wanted = [
            r[2]
            for r in records
            if "p." + r[0] == topic
            and (murmur2(r[1]) & 0x7FFFFFFF) % producer.partitions[topic] == partition
        ]
        assert values == wanted  # each partition's records in the order given


def test_each_event_type_has_its_header_made_once() -> None:
    headers = _Headers()
    first = headers["CreditDebited"]
    assert first == [("event_type", b"CreditDebited")]
    assert headers["CreditDebited"] is first
    assert headers["FreeMinutesGranted"] == [("event_type", b"FreeMinutesGranted")]


def test_the_relays_batch_size_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings().outbox_batch_events == 5000
    monkeypatch.setenv("OUTBOX_BATCH_EVENTS", "200")
    assert ServiceSettings().outbox_batch_events == 200
    monkeypatch.setenv("OUTBOX_BATCH_EVENTS", "0")
    with pytest.raises(ValidationError):
        ServiceSettings()
