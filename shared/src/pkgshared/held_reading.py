"""Reading a topic whose handler holds records back (pkgshared.holding): the subscriber's
rebalance listener, which reads each partition handed over from its stored offset (the group's
committed offset may have passed records held in memory), and the `KeepsWhatItReads` side of
the batch consumer (polls, presentations and rebalances take turns under one lock)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from pkgshared.holding import HeldRecords
from pkgshared.incoming import Incoming

log = structlog.get_logger(__name__)

StoredOffsets = Callable[[list[int]], Awaitable[dict[int, int]]]
"""How far the database has read each of these partitions (absent: never read)."""


class HeldReader(ConsumerRebalanceListener):
    def __init__(self, held: HeldRecords, stored_offsets: StoredOffsets) -> None:
        self.held = held
        self._stored = stored_offsets
        self.subscriber: Any = None  # set once subscribed: its `consumer` seeks
        held.seek = self._seek
        held.handed_over()

    @property
    def poll_lock(self) -> asyncio.Lock:
        return self.held.poll_lock

    def _seek(self, topic: str, partition: int, offset: int) -> None:
        consumer = self.subscriber.consumer
        tp = TopicPartition(topic, partition)
        if tp in consumer.assignment():
            consumer.seek(tp, offset)

    # ------------------------------------------------------------ KeepsWhatItReads
    def replay(self, batch: list[Incoming]) -> None:
        """Records below the stored offset: handled before (the stored offset never passes a
        held one), nothing to do."""

    def passed(self, batch: list[Incoming]) -> None:
        """Unreadable records: dead-lettered in their poll's transaction."""

    def seek_back(self, records: Sequence[Any]) -> None:
        """A poll that must come again: its partitions are read again from its first records
        (under the poll lock: no rebalance in between)."""
        first: dict[tuple[str, int], int] = {}
        for r in records:
            place = (r.topic, r.partition)
            first[place] = min(first.get(place, r.offset), r.offset)
        for (topic, partition), offset in first.items():
            self.held.read_from(partition, offset)
            self._seek(topic, partition, offset)

    # ------------------------------------------------------------ the rebalance listener
    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self.poll_lock:
            self.held.revoked(tp.partition for tp in revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if not assigned:
            return
        # Under the lock from the start: a poll fetched meanwhile (from the group's offset)
        # waits, and is then judged against the stored offsets (HeldRecords.admit).
        async with self.poll_lock:
            stored = await self._stored_offsets(sorted(tp.partition for tp in assigned))
            self.held.assigned({tp.partition: stored.get(tp.partition) for tp in assigned})
            for tp in assigned:
                if tp.partition in stored:
                    self.subscriber.consumer.seek(tp, stored[tp.partition])
        log.info("partitions handed over; read from their stored offsets", stored=stored)

    async def _stored_offsets(self, partitions: list[int]) -> dict[int, int]:
        """Read until PostgreSQL answers: reading on from the group's offset could skip held
        records (the rebalance waits meanwhile; nothing can be handled without PostgreSQL)."""
        pause = 0.5
        while True:
            try:
                return await self._stored(partitions)
            except Exception as exc:
                log.warning("stored offsets not read; retrying", error=str(exc)[:300])
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
