"""The allowance's calls checkpoint without Kafka or PostgreSQL: calls read wait in it, a
record of a partition not handed to it is left alone (its resume point never moves here), a
rebalance waits for the poll in hand, and reading pauses when too many calls wait, until half
are applied."""

from __future__ import annotations

import asyncio
import uuid
from collections import namedtuple
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiokafka import TopicPartition

from allowance.adapters.checkpoint import CallsCheckpoint, Limits
from pkgcontract.messages import UsageRated
from pkgshared.incoming import Incoming


class _Consumer:
    def __init__(self) -> None:
        self.paused: set[Any] = set()
        self.sought: dict[Any, int] = {}

    def assignment(self) -> set[Any]:
        calls = {TopicPartition("p.usage.rated", p) for p in (0, 1)}
        return calls | {TopicPartition("p.billing.free-minutes-granted", p) for p in (0, 1)}

    def seek(self, tp: Any, offset: int) -> None:
        self.sought[tp] = offset

    def pause(self, *partitions: Any) -> None:
        self.paused |= set(partitions)

    def resume(self, *partitions: Any) -> None:
        self.paused -= set(partitions)


class _TP:
    def __init__(self, partition: int) -> None:
        self.topic = "p.usage.rated"
        self.partition = partition


class _Subscriber:
    consumer = _Consumer()


def _record(partition: int, offset: int, destination: str | None = "4420") -> Incoming:
    usage = UsageRated(
        usage_id=uuid.uuid4(),
        customer_id="acme",
        amount=Decimal("0.1"),
        currency="GBP",
        occurred_at=datetime(2026, 1, 5, tzinfo=UTC),
        destination=destination,
        duration_seconds=60,
    )
    return Incoming("usage.rated", partition, offset, b"acme", b"{}", usage)


def _reader(max_waiting: int = 100) -> tuple[CallsCheckpoint, asyncio.Event]:
    subscriber = _Subscriber()
    subscriber.consumer.paused.clear()
    reader = CallsCheckpoint(
        None,  # type: ignore[arg-type]
        None,
        lambda _: subscriber,
        limits=Limits(max_waiting=max_waiting),
        source_topic="p.usage.rated",
    )
    reader.waiting.start(0, 0)
    reader.waiting.start(1, 0)
    return reader, reader._wake  # what its worker loop waits on


async def test_calls_wait_and_a_settled_one_wakes_the_checkpoint() -> None:
    reader, woken = _reader()
    reader.read([_record(0, 0), _record(0, 1, destination=None)])
    reader.replay([_record(1, 0)])
    assert reader.waiting.count == 2 and not woken.is_set()  # no horizon known yet
    reader.waiting.horizon = datetime(2026, 2, 1, tzinfo=UTC)
    reader.read([_record(1, 1)])
    assert woken.is_set()


async def test_a_partition_not_handed_over_is_left_alone() -> None:
    reader, _ = _reader()
    reader.read([_record(4, 0), _record(0, 0)])
    assert reader.waiting.count == 1
    assert reader.waiting.resume_offsets() == {0: 0, 1: 0}  # nothing moves for partition 4


async def test_a_rebalance_waits_for_the_poll_in_hand() -> None:
    reader, _ = _reader()
    order: list[str] = []
    async with reader.poll_lock:
        revoke = asyncio.create_task(reader.on_partitions_revoked([_TP(0)]))
        await asyncio.sleep(0.05)
        order.append("poll handled")
        assert 0 in reader.waiting.partitions()
    await revoke
    assert 0 not in reader.waiting.partitions() and order == ["poll handled"]


async def test_a_poll_that_must_come_again_is_sought_back_to_its_first_records() -> None:
    reader, _ = _reader()
    consumer: Any = reader._subscriber.consumer
    consumer.sought.clear()
    Rec = namedtuple("Rec", "topic partition offset")
    reader.seek_back(
        [Rec("p.usage.rated", 0, 7), Rec("p.usage.rated", 0, 5), Rec("p.usage.rated", 3, 9)]
    )
    assert consumer.sought == {TopicPartition("p.usage.rated", 0): 5}  # 3 is not held


async def test_reading_pauses_beyond_the_limit_and_resumes_at_half() -> None:
    reader, _ = _reader(max_waiting=4)
    consumer: Any = reader._subscriber.consumer
    reader.read([_record(0, n) for n in range(5)])
    calls = {tp for tp in consumer.assignment() if tp.topic == "p.usage.rated"}
    assert reader.paused and consumer.paused == calls  # the grants are read on
    reader._relieve()
    assert reader.paused  # still 5 waiting
    chosen = reader.waiting.settled(datetime(2026, 2, 1, tzinfo=UTC), 3, 10)
    reader.waiting.remove(chosen)
    reader._relieve()
    assert not reader.paused and consumer.paused == set()


async def test_it_stops_when_the_grants_topic_is_partitioned_otherwise() -> None:
    """usage.rated and the grants topic are read by range in one group: with different
    partition counts an instance would not read its customers' grants, so it exits."""
    ends = {"p.usage.rated": {0: 5, 1: 3}, "p.grants": {0: 1, 1: 0, 2: 7}}

    async def partitions(topic: str) -> dict[int, int]:
        return ends[topic]

    checkpoint = CallsCheckpoint(
        None,  # type: ignore[arg-type]
        None,
        lambda _: _Subscriber(),
        source_topic="p.usage.rated",
        grants_topic="p.grants",
        partitions=partitions,
    )
    try:
        await checkpoint.check_partitions()
    except SystemExit as stopped:
        assert stopped.code == 1
    else:
        raise AssertionError("it ran with the topics partitioned otherwise")
