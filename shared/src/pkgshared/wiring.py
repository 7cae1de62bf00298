"""What a service's bootstrap wires its handlers to (`Runtime`): the pool, the broker and the
outbox relay of the process, the subscriptions (whole polls, pkgshared.consuming) and the
topics it publishes, the end offsets of its inputs, its health. pkgshared.runtime builds one
per process and runs it."""

from __future__ import annotations

import asyncio
import functools
import operator
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from pkgcontract import topics
from pkgcontract.messages import Message
from pkgcontract.messages.reading import topic_schema
from pkgshared.consuming import BatchConsumer
from pkgshared.copartitioned import CoPartitioned
from pkgshared.holding import HeldRecords
from pkgshared.incoming import BatchHandler, KeepsWhatItReads
from pkgshared.kafka import client_security, message_headers
from pkgshared.offsets import EndOffsets
from pkgshared.outbox import OutboxRelay
from pkgshared.probes import Probe
from pkgshared.settings import ServiceSettings
from pkgshared.subscription import subscribe
from pkgshared.uow import PostgresUnitOfWork

if TYPE_CHECKING:
    from pkgshared.db import Pool

PIPELINE_CHUNK = 1000
"""Records of a stream's poll (topics.STREAMS) read while the previous chunk's statements
run."""


@dataclass
class Runtime:
    """What a service's bootstrap wires its handlers to."""

    name: str
    settings: ServiceSettings
    pool: Pool
    broker: KafkaBroker
    relay: OutboxRelay
    producer: AIOKafkaProducer
    tasks: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    schema: str = ""
    _end_offsets: EndOffsets | None = None
    consumed: list[tuple[str, str]] = field(default_factory=list)
    """(contract topic, group) of every subscription, for the lag probe."""
    probes: list[Probe] = field(default_factory=list)
    """Gauges to measure every PROBE_INTERVAL_SECONDS besides consumer lag."""

    @property
    def group_id(self) -> str:
        """CONSUMER_GROUP, or the service's name followed by its topic prefix: two systems
        that share a cluster under different prefixes must not share groups (a member that
        joins or leaves one would rebalance the other's). The name comes first, so the ACLs
        that grant a service's groups by the prefix of its name still match."""
        prefix = self.settings.topic_prefix.rstrip(".")
        return self.settings.consumer_group or self.name + (f".{prefix}" if prefix else "")

    async def publish(self, topic: str, key: bytes | None, message: Message) -> None:
        """Publish directly (not through the outbox) and wait for the broker's acknowledgement."""
        headers = [(k, v.encode()) for k, v in message_headers(message).items()]
        await self.producer.send_and_wait(topic, message.to_json(), key=key, headers=headers)

    def topic(self, name: str) -> str:
        """The real name of contract topic `name` (with the configured prefix)."""
        return self.settings.topic_prefix + name

    def consume(
        self,
        topic: str,
        consumer: BatchConsumer | CoPartitioned,
        description: str,
        *,
        group_suffix: str = "",
        projection: bool = False,
        listener: Any = None,
        co_partitioned: Sequence[str] = (),
    ) -> Any:
        """Subscribe `consumer` to contract topic `topic` as every service consumes: whole
        polls (see pkgshared.consuming), its own group from the earliest offset, the offsets
        committed only once a poll is handled (a poll handed back is delivered again).
        The AsyncAPI document shows the topic's message types (pkgcontract.messages.reading).

        A `projection` (state rebuilt from a topic) gets a group named after its schema too:
        an empty schema then reads its topic from the beginning instead of from where another
        database's projection stopped. `listener`: a ConsumerRebalanceListener; returns the
        subscriber. `co_partitioned`: more contract topics read in the same group, partitioned
        as `topic` is (a CoPartitioned consumer; pkgshared.copartitioned)."""
        group = self.group(group_suffix, projection)
        consumer.group = group
        read = (topic, *co_partitioned)
        self.consumed.extend((t, group) for t in read)

        return subscribe(
            self.broker,
            self.topic(topic) if not co_partitioned else [self.topic(t) for t in read],
            consumer,
            group_id=group,
            max_records=(
                self.settings.stream_batch_max_records
                if topic in topics.STREAMS
                else self.settings.batch_max_records
            ),
            wait_ms=self.settings.batch_wait_ms,
            description=description,
            schema=functools.reduce(operator.or_, (topic_schema(t) for t in read)),
            listener=listener,
        )

    def group(self, group_suffix: str = "", projection: bool = False) -> str:
        """The consumer group `consume` subscribes with (see there)."""
        return self.group_id + (f".{self.schema}" if projection else "") + group_suffix

    def publishes(self, topic: str, description: str) -> None:
        """Declare that this service writes contract topic `topic` (through the outbox
        relay), so the AsyncAPI document shows it with its message types."""
        self.broker.publisher(
            self.topic(topic), title=topic, description=description, schema=topic_schema(topic)
        )

    def batch_consumer(
        self,
        topic: str,
        handler: BatchHandler,
        unit_of_work: Callable[[], PostgresUnitOfWork],
        rejections_topic: str | None = None,
        keeper: KeepsWhatItReads | None = None,
        held: HeldRecords | None = None,
    ) -> BatchConsumer:
        return BatchConsumer(
            topic,
            handler,
            unit_of_work,
            rejections_topic=rejections_topic,
            max_attempts=self.settings.handler_max_attempts,
            backoff_seconds=self.settings.retry_backoff_seconds,
            healthy=self.database_answers,
            pipeline_chunk=PIPELINE_CHUNK if topic in topics.STREAMS else 0,
            keeper=keeper,
            held=held,
        )

    async def database_answers(self) -> bool:
        async with asyncio.timeout(2):
            return bool(await self.pool.fetchval("SELECT 1") == 1)

    async def end_offsets(self, topic: str) -> dict[int, int]:
        """The end offset of each partition of `topic` (real name; no consuming)."""
        if self._end_offsets is None:
            self._end_offsets = EndOffsets(
                self.settings.kafka_bootstrap_servers,
                f"{self.name}-offsets",
                **client_security(self.settings),
            )
        return await self._end_offsets(topic)

    async def end_offsets_of(self, contract_topics: Sequence[str]) -> dict[tuple[str, int], int]:
        """The end offset of each partition of each of `contract_topics`, by (contract
        topic, partition)."""
        out = {}
        for topic in contract_topics:
            for partition, end in (await self.end_offsets(self.topic(topic))).items():
                out[(topic, partition)] = end
        return out

    async def close(self) -> None:
        if self._end_offsets is not None:
            await self._end_offsets.close()

    async def healthy(self) -> dict[str, bool]:
        db_ok = kafka_ok = False
        try:
            async with asyncio.timeout(2):
                db_ok = await self.pool.fetchval("SELECT 1") == 1
        except Exception:
            db_ok = False
        try:
            kafka_ok = bool(await self.broker.ping(timeout=2))
        except Exception:
            kafka_ok = False
        return {"database": db_ok, "kafka": kafka_ok}
