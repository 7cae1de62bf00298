"""The partitions of usage.rated the calls checkpoint holds: its rebalance listener (a
partition handed over is read again from its resume point), the records read into its waiting
calls, and pausing reading when too many wait. Part of
allowance.adapters.checkpoint.CallsCheckpoint (decision 0007)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from aiokafka import TopicPartition

from allowance import metrics
from allowance.adapters.repository import AllowanceRepository
from allowance.adapters.waiting import WaitingCalls
from allowance.service_layer import handlers
from pkgshared.incoming import Incoming

if TYPE_CHECKING:
    from allowance.adapters.checkpoint import Limits
    from pkgshared.db import Pool

log = structlog.get_logger(__name__)


class HeldPartitions:
    """What CallsCheckpoint does when Kafka hands it partitions, or records of them."""

    waiting: WaitingCalls
    poll_lock: asyncio.Lock
    paused: bool
    _pool: Pool
    _source: str
    _subscriber: Any
    _stored: dict[int, int]
    _look_at_parked: bool
    _limits: Limits
    wake: Callable[[], None]  # the worker's (pkgshared.workers.NotifiedWorker)

    # ------------------------------------------------------------ the rebalance listener
    # The group reads usage.rated and the grants topic by range: a member is handed the same
    # partitions of both (pkgshared.copartitioned). Only usage.rated is sought and paused here.
    def _calls(self, partitions: Any) -> list[Any]:
        return [tp for tp in partitions if tp.topic == self._source]

    async def on_partitions_revoked(self, revoked: Any) -> None:
        calls = self._calls(revoked)
        async with self.poll_lock:
            self.waiting.drop(tp.partition for tp in calls)
        if calls:
            log.info("usage partitions revoked", partitions=sorted(tp.partition for tp in calls))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        calls = self._calls(assigned)
        grants = {tp.partition for tp in assigned} - {tp.partition for tp in calls}
        if grants or len(assigned) != 2 * len(calls):
            # Range assignment hands both topics' same partitions when their counts match
            # (checked at start): this member would not own its customers' grants.
            log.error(
                "usage.rated and the grants topic are not assigned alike",
                assigned=sorted((tp.topic, tp.partition) for tp in assigned),
            )
        if not calls:
            return
        resume = await self._resume_points(sorted(tp.partition for tp in calls))
        async with self.poll_lock:
            for tp in calls:
                self._subscriber.consumer.seek(tp, resume[tp.partition])
                self.waiting.start(tp.partition, resume[tp.partition])
                self._stored[tp.partition] = resume[tp.partition]
            self._look_at_parked = True
        self.paused = False
        self.wake()
        log.info("usage partitions assigned; read from their first call not applied", resume=resume)

    async def _resume_points(self, partitions: list[int]) -> dict[int, int]:
        """Read until PostgreSQL answers: reading on from elsewhere would skip waiting calls
        (the rebalance waits meanwhile, and nothing can be applied without PostgreSQL)."""
        pause = 0.5
        while True:
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    return await AllowanceRepository(conn).call_offsets(partitions)
            except Exception as exc:
                log.warning("resume points not read; retrying", error=str(exc)[:300])
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    def seek_back(self, records: Any) -> None:
        """A poll that must come again (PostgreSQL or Kafka failed): its partitions are read
        again from its first records (under the poll lock: no rebalance in between)."""
        first: dict[Any, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            first[tp] = min(first.get(tp, r.offset), r.offset)
        consumer = self._subscriber.consumer
        held = consumer.assignment()
        for tp, offset in first.items():
            if tp in held:
                consumer.seek(tp, offset)

    # ------------------------------------------------------------ records read
    def replay(self, batch: list[Incoming]) -> None:
        """Records read before (a restart, a rebalance): their calls wait again."""
        self.read(batch)

    def passed(self, batch: list[Incoming]) -> None:
        """Records read and not handed over (unreadable: dead-lettered): no call, but the
        partition has been read past them."""
        for item in batch:
            self.waiting.passed(item.partition, item.offset)

    def read(self, batch: list[Incoming]) -> None:
        """Records of usage.rated read: their calls wait here until the charger settles
        them, and reversals behind their customers' calls (a record that is neither only
        moves its partition on)."""
        waiting = self.waiting
        strays = {item.partition for item in batch} - waiting.partitions()
        if strays:
            # Not held (not handed over, or its resume point not read): left to whoever reads
            # them from their resume point, which they never pass.
            log.warning("usage records of partitions not held ignored", partitions=sorted(strays))
        add, to_apply = waiting.add, handlers.to_apply
        for item in batch:
            message = item.message
            usage = to_apply(message) if message is not None else None
            # Under another key than its customer's: not in its customer's partition.
            stray = usage is not None and item.key != usage.customer_id.encode()
            add(item.partition, item.offset, usage, stray)
        metrics.WAITING.set(waiting.count)
        if waiting.ready or waiting.park_due:
            self.wake()
        if waiting.count > self._limits.max_waiting and not self.paused:
            # Memory is bounded: the rest waits in Kafka until some are applied.
            consumer = self._subscriber.consumer
            consumer.pause(*self._calls(consumer.assignment()))  # never the grants
            self.paused = True
            log.warning(
                "usage reading paused: too many calls waiting for the charger",
                waiting=waiting.count,
                max_waiting=self._limits.max_waiting,
            )

    def _relieve(self) -> None:
        """After applying: read on once half the room is free."""
        if self.paused and self.waiting.count <= self._limits.max_waiting // 2:
            consumer = self._subscriber.consumer
            consumer.resume(*self._calls(consumer.assignment()))
            self.paused = False
            log.info("usage reading resumed", waiting=self.waiting.count)
