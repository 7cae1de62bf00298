"""Consumer lag as Kafka sees it: for every consumer group, end offset minus committed offset
on each partition of a test's topics. Zero everywhere means every service has read (and
acknowledged) everything sent to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pkgtools.topic_io import WaitTimedOut

Lag = dict[tuple[str, str, int], int]
"""(group, topic, partition) -> records not yet committed by that group."""


async def consumer_lag(bootstrap: str, prefix: str) -> Lag:
    """The lag of every group that has committed an offset on a topic starting with `prefix`."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed: dict[tuple[str, TopicPartition], int] = {}
        for group, *_ in await admin.list_consumer_groups():
            offsets = await admin.list_consumer_group_offsets(group)
            for tp, meta in offsets.items():
                if tp.topic.startswith(prefix) and meta.offset >= 0:
                    committed[(group, tp)] = meta.offset
        if not committed:
            return {}
        ends = await consumer.end_offsets(list({tp for _, tp in committed}))
        return {
            (group, tp.topic, tp.partition): ends[tp] - offset
            for (group, tp), offset in committed.items()
        }
    finally:
        await consumer.stop()
        await admin.close()


def total(lag: Lag) -> int:
    return sum(lag.values())


def behind(lag: Lag) -> Lag:
    return {k: v for k, v in lag.items() if v > 0}


async def wait_caught_up(
    bootstrap: str, prefix: str, consumed: Iterable[str], timeout: float = 120
) -> Lag:
    """Wait until no group is behind on the `prefix` topics and each contract topic in
    `consumed` has a group that committed on it; the final lag (all zeros)."""
    deadline = time.monotonic() + timeout
    while True:
        lag = await consumer_lag(bootstrap, prefix)
        missing = {prefix + t for t in consumed} - {topic for _, topic, _ in lag}
        if not behind(lag) and not missing:
            return lag
        if time.monotonic() > deadline:
            raise WaitTimedOut(f"consumers not caught up: behind {behind(lag)}, none on {missing}")
        await asyncio.sleep(0.5)
