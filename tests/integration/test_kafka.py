"""Producing and consuming through the real broker: aiokafka, then FastStream with manual
acknowledgement (at-least-once: what is not acknowledged is delivered again)."""

from __future__ import annotations

import asyncio
import json

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from pkgtools.testing.kafka import TopicReader, create_plain_topics, produce, unique_name


async def test_aiokafka_round_trip_keeps_key_headers_and_order(kafka_bootstrap: str) -> None:
    topic = unique_name("roundtrip")
    await create_plain_topics(kafka_bootstrap, [topic])
    values = [{"n": i} for i in range(20)]
    await produce(kafka_bootstrap, topic, values, key="cust-1", headers={"event_type": "Probe"})

    async with TopicReader(kafka_bootstrap, topic) as reader:
        records = await reader.wait_for(lambda rs: len(rs) >= 20, what="20 records")
    assert [r.json()["n"] for r in records] == list(range(20))
    assert {r.key for r in records} == {b"cust-1"}
    assert all(r.headers["event_type"] == b"Probe" for r in records)


async def test_faststream_manual_ack_redelivers_what_was_not_acknowledged(
    kafka_bootstrap: str,
) -> None:
    topic, group = unique_name("manual"), unique_name("group")
    await create_plain_topics(kafka_bootstrap, [topic])
    await produce(kafka_bootstrap, topic, [{"n": 1}, {"n": 2}, {"n": 3}])

    async def consume_once(stop_after_unacked: int | None) -> list[int]:
        """Consume, acknowledging each message, except message `stop_after_unacked`:
        receive it, never acknowledge it, and stop while it is in flight (a crash)."""
        seen: list[int] = []
        done = asyncio.Event()
        never = asyncio.Event()
        broker = KafkaBroker(kafka_bootstrap, logger=None, graceful_timeout=0.5)

        @broker.subscriber(
            topic, group_id=group, auto_offset_reset="earliest", ack_policy=AckPolicy.MANUAL
        )
        async def handle(body: dict[str, int], msg: KafkaMessage) -> None:
            seen.append(body["n"])
            if body["n"] == stop_after_unacked:
                done.set()
                await never.wait()
            await msg.ack()
            if body["n"] == 3:
                done.set()

        async with broker:
            await broker.start()
            await asyncio.wait_for(done.wait(), timeout=30)
        return seen

    assert await consume_once(stop_after_unacked=2) == [1, 2]
    # Message 2 was received but never acknowledged: a new consumer of the group gets it again.
    assert await consume_once(stop_after_unacked=None) == [2, 3]


async def test_faststream_publish_reaches_the_topic_with_acks_all(kafka_bootstrap: str) -> None:
    topic = unique_name("publish")
    await create_plain_topics(kafka_bootstrap, [topic])
    broker = KafkaBroker(kafka_bootstrap, acks="all", enable_idempotence=True, logger=None)
    publisher = broker.publisher(topic)
    async with broker:
        await broker.start()
        await publisher.publish(json.dumps({"hello": "kafka"}).encode(), key=b"k")
    async with TopicReader(kafka_bootstrap, topic) as reader:
        records = await reader.wait_for(lambda rs: len(rs) == 1, what="one record")
    assert records[0].json() == {"hello": "kafka"}
    assert records[0].key == b"k"
