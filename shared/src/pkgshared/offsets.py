"""Where Kafka's partitions end: what the inputs barriers and the lag probe compare the
offsets stored with a service's state against. Public aiokafka API only: partitions from the
admin client's metadata, end offsets from a consumer that never consumes."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pkgshared.exceptions import RetryLater


class EndOffsets:
    """`await end_offsets(topic)`: each partition's end offset (clients started on first use)."""

    def __init__(self, bootstrap: str, client_id: str, **client_options: Any) -> None:
        self._options = {"bootstrap_servers": bootstrap, "client_id": client_id, **client_options}
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._partitions: dict[str, list[int]] = {}

    async def __call__(self, topic: str) -> dict[int, int]:
        partitions = self._partitions.get(topic) or await self._partitions_of(topic)
        if self._consumer is None:
            self._consumer = AIOKafkaConsumer(enable_auto_commit=False, **self._options)
            await self._consumer.start()
        ends = await self._consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}

    async def _partitions_of(self, topic: str) -> list[int]:
        # Fetched once per topic: partitions are only ever added by an operator. Metadata of
        # every topic rather than of this one, so that asking never creates it.
        if self._admin is None:
            self._admin = AIOKafkaAdminClient(**self._options)
            await self._admin.start()
        found = next((t for t in await self._admin.describe_topics() if t["topic"] == topic), None)
        partitions = sorted(p["partition"] for p in (found or {}).get("partitions", []))
        if not partitions:
            # Fail closed: "caught up with nothing" would let a command race its inputs.
            raise RetryLater(f"no partition metadata for {topic} yet")
        self._partitions[topic] = partitions
        return partitions

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()
