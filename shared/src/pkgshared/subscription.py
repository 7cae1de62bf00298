"""A batch consumer subscribed to its topic on the FastStream broker: raw polls in, NotYet out
as a nack (the poll is sought back and comes again)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from pkgshared.consuming import BatchConsumer
from pkgshared.copartitioned import CoPartitioned
from pkgshared.kafka import MAX_MESSAGE_BYTES


async def _raw_records(msg: Any, _default: Any = None) -> Any:
    """The poll's records as they came: the consumer reads them, whatever they hold."""
    return msg.raw_message


def subscribe(
    broker: KafkaBroker,
    topic: str | Sequence[str],
    consumer: BatchConsumer | CoPartitioned,
    *,
    group_id: str,
    max_records: int = 500,
    wait_ms: int = 20,
    description: str = "",
    schema: Any = Any,
    listener: Any = None,
) -> Any:
    """Subscribe `consumer` to `topic` (the real name) on `broker` (made with
    apply_types=False, as pkgshared.kafka.make_broker does): polls of up to `max_records`
    records, from the earliest offset for a new group, committed once handled; a poll that
    raises (NotYet) is sought back and delivered again. `schema` is for the AsyncAPI
    document only. `listener`: an aiokafka ConsumerRebalanceListener. Several topics (a
    CoPartitioned consumer) are assigned by range: each member is handed the same partitions
    of every topic. Returns the subscriber (its `consumer` is the AIOKafkaConsumer once
    started)."""
    names = (topic,) if isinstance(topic, str) else tuple(topic)
    options: dict[str, Any] = {}
    if len(names) > 1:
        options["partition_assignment_strategy"] = (RangePartitionAssignor,)

    async def on_batch(records: Any) -> None:
        await consumer.consume(records)

    on_batch.__annotations__["records"] = list[schema]
    on_batch.__name__ = "on_" + consumer.topic.replace(".", "_").replace("-", "_")
    subscriber = broker.subscriber(
        *names,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=wait_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw_records,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
        title=consumer.topic,
        description=description,
        listener=listener,
        **options,
    )
    subscriber(on_batch)
    return subscriber
