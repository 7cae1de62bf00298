"""Unreadable messages go to `<topic>.dlq` with their original bytes; the consumer goes on.
Readable commands that break a schema rule get CommandRejected instead."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter

from pkgshared import topics
from pkgshared.kafka import decoder_for, message_headers, reading_middleware
from pkgshared.messages import ClockTicked, DefinePackage, Message
from pkgshared.testing.kafka import TopicReader, create_topics, produce, unique_name


def consumer(
    bootstrap: str,
    topic: str,
    contract_topic: str,
    rejections: str | None,
    seen: list[Message],
    both_seen: asyncio.Event | None = None,
) -> KafkaBroker:
    both_seen = both_seen or asyncio.Event()
    broker = KafkaBroker(bootstrap, logger=None, acks="all", enable_idempotence=True)

    async def publish(to: str, key: bytes | None, message: Message) -> None:
        await broker.publish(message.to_json(), to, key=key, headers=message_headers(message))

    middleware = reading_middleware(publish, rejections_topic=rejections, retry_backoff_seconds=0.1)
    router = KafkaRouter(middlewares=[middleware])

    @router.subscriber(
        topic,
        group_id=unique_name("g"),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=decoder_for(contract_topic),
    )
    async def handle(message: Message) -> None:
        seen.append(message)
        if len(seen) == 2:
            both_seen.set()

    broker.include_router(router)
    return broker


def tick(at: str) -> dict[str, object]:
    return {
        "event_type": "ClockTicked",
        "event_id": str(uuid.uuid4()),
        "schema_version": 1,
        "occurred_at": at,
        "tick_id": str(uuid.uuid4()),
        "at": at,
    }


async def test_unreadable_messages_are_dead_lettered_and_consumption_goes_on(
    kafka_bootstrap: str,
) -> None:
    topic = unique_name("ticks")
    dlq = topics.dlq_topic(topic)
    await create_topics(kafka_bootstrap, [topic, dlq])
    wrong_type = tick("2026-01-01T00:00:00Z") | {"tick_id": 12345}
    bad = [
        b"this is not json",
        json.dumps(wrong_type).encode(),
        json.dumps({"event_type": "NoSuchThing", "event_id": str(uuid.uuid4())}).encode(),
        b"[1, 2, 3]",
        b"\xff\xfe",
    ]
    good_first, good_last = tick("2026-01-01T00:00:00Z"), tick("2026-01-02T00:00:00Z")
    await produce(kafka_bootstrap, topic, [good_first, *bad, good_last], key="clock")

    seen: list[Message] = []
    both_seen = asyncio.Event()
    broker = consumer(kafka_bootstrap, topic, topics.CLOCK_TICKS, None, seen, both_seen)
    async with broker, TopicReader(kafka_bootstrap, dlq) as reader:
        await broker.start()
        letters = await reader.wait_for(lambda rs: len(rs) >= len(bad), what="5 dead letters")
        await asyncio.wait_for(both_seen.wait(), timeout=30)

    assert [m.tick_id for m in seen if isinstance(m, ClockTicked)] == [
        uuid.UUID(good_first["tick_id"]),  # type: ignore[arg-type]
        uuid.UUID(good_last["tick_id"]),  # type: ignore[arg-type]
    ]
    bodies = [r.json() for r in letters]
    assert [base64.b64decode(b["payload_base64"]) for b in bodies] == bad
    assert [b["offset"] for b in bodies] == [1, 2, 3, 4, 5]
    assert all(b["event_type"] == "DeadLetter" and b["source_topic"] == topic for b in bodies)
    assert all(b["key"] == "clock" and b["partition"] == 0 for b in bodies)
    assert all(r.headers["event_type"] == b"DeadLetter" for r in letters)
    assert "not JSON" in bodies[0]["error"]
    assert "tick_id" in bodies[1]["error"]
    assert "NoSuchThing" in bodies[2]["error"]
    assert "not a JSON object" in bodies[3]["error"]


async def test_a_command_breaking_a_schema_rule_gets_command_rejected(kafka_bootstrap: str) -> None:
    topic, answers = unique_name("catalog-cmd"), unique_name("catalog-events")
    await create_topics(kafka_bootstrap, [topic, answers, topics.dlq_topic(topic)])
    command_id = str(uuid.uuid4())
    bad_command = {
        "event_type": "DefinePackage",
        "event_id": command_id,
        "package_id": "has spaces",
        "name": "x",
        "kind": "recurring",
        "retail": "-1.00",
        "currency": "GBP",
        "frequency": "daily",
    }
    await produce(kafka_bootstrap, topic, [bad_command], key="has spaces")

    seen: list[Message] = []
    broker = consumer(kafka_bootstrap, topic, topics.CATALOG_COMMANDS, answers, seen)
    async with broker, TopicReader(kafka_bootstrap, answers) as reader:
        await broker.start()
        records = await reader.wait_for(lambda rs: len(rs) >= 1, what="CommandRejected")

    body = records[0].json()
    assert body["event_type"] == "CommandRejected"
    assert body["command_id"] == command_id
    assert body["command_type"] == "DefinePackage"
    assert {e["field"] for e in body["errors"]} == {"package_id", "retail"}
    assert records[0].key == b"has spaces"
    assert seen == []
    assert not any(isinstance(m, DefinePackage) for m in seen)
