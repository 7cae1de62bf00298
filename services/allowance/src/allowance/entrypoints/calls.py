"""Reading usage.rated: calls go to the in-memory queue of waiting calls, which the apply
worker drains once the charger has settled their moment (allowance.domain.waiting says why
calls wait in Kafka rather than in a table).

The partitions this instance is handed are read from their resume point (the first call not
applied yet, stored with the applied state), not from the group's committed offset: the calls
between the two are waiting, and only this process's memory held them. Records already read
once (dead-lettered or not) are not handled twice: the batch consumer hands the readable ones
back through `replay` (pkgshared.incoming.KeepsWhatItReads)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from allowance import metrics
from allowance.adapters.repository import AllowanceRepository
from allowance.domain.waiting import WaitingCalls
from allowance.service_layer.handlers import call_of
from pkgcontract.messages import UsageRated
from pkgshared.incoming import Incoming

if TYPE_CHECKING:
    from pkgshared.db import Pool

log = structlog.get_logger(__name__)


class CallsReader(ConsumerRebalanceListener):
    """The usage.rated subscriber's rebalance listener and its handling of records."""

    def __init__(
        self, pool: Pool, waiting: WaitingCalls, wake: Callable[[], None], max_waiting: int
    ) -> None:
        self._pool = pool
        self.waiting = waiting
        self._wake = wake
        self._max_waiting = max_waiting
        self.subscriber: Any = None  # set once subscribed: its `consumer` seeks and pauses
        self.paused = False
        # The batch consumer holds it while it handles a poll (pkgshared.consuming.
        # KeepsWhatItReads): the rebalance waits for the poll in hand (aiokafka waits for
        # these callbacks), so records fetched before a partition is handed over again are
        # never mixed with those read from its resume point.
        self.poll_lock = asyncio.Lock()

    # ------------------------------------------------------------ the rebalance listener
    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self.poll_lock:
            self.waiting.drop(tp.partition for tp in revoked)
        if revoked:
            log.info("usage partitions revoked", partitions=sorted(tp.partition for tp in revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if not assigned:
            return
        resume = await self._resume_points(sorted(tp.partition for tp in assigned))
        async with self.poll_lock:
            for tp in assigned:
                self.subscriber.consumer.seek(tp, resume[tp.partition])
                self.waiting.start(tp.partition, resume[tp.partition])
        self.paused = False
        log.info("usage partitions assigned; read from their first call not applied", resume=resume)

    async def _resume_points(self, partitions: list[int]) -> dict[int, int]:
        """Read until PostgreSQL answers: reading on from elsewhere would skip waiting calls
        (the rebalance waits meanwhile, and nothing can be applied without PostgreSQL)."""
        pause = 0.5
        while True:
            try:
                async with self._pool.acquire() as conn:
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
        consumer = self.subscriber.consumer
        held = consumer.assignment()
        for tp, offset in first.items():
            if tp in held:
                consumer.seek(tp, offset)

    # ------------------------------------------------------------ records
    def replay(self, batch: list[Incoming]) -> None:
        """Records read before (a restart, a rebalance): their calls wait again."""
        self._add(batch)

    def passed(self, batch: list[Incoming]) -> None:
        """Records read and not handed over (unreadable: dead-lettered): no call, but the
        partition has been read past them."""
        for item in batch:
            self.waiting.passed(item.partition, item.offset)

    async def handle(self, uow: Any, batch: list[Incoming]) -> None:
        """New records (the batch consumer dead-letters the unreadable ones and stores how
        far they were read in `uow`)."""
        self._add(batch)

    def _add(self, batch: list[Incoming]) -> None:
        add = self.waiting.add
        strays = {item.partition for item in batch} - self.waiting.partitions()
        if strays:
            # Not this reader's (not handed over, or its resume point not read): they are
            # left to whoever reads them from their resume point, which they never pass.
            log.warning("usage records of partitions not held ignored", partitions=sorted(strays))
        for item in batch:
            message = item.message
            call = call_of(message) if isinstance(message, UsageRated) else None
            add(item.partition, item.offset, call)
        metrics.WAITING.set(self.waiting.count)
        if self.waiting.ready or self.waiting.park_due:
            self._wake()
        if self.waiting.count > self._max_waiting and not self.paused:
            # Memory is bounded: the rest waits in Kafka until the worker applies some.
            consumer = self.subscriber.consumer
            consumer.pause(*consumer.assignment())
            self.paused = True
            log.warning(
                "usage reading paused: too many calls waiting for the charger",
                waiting=self.waiting.count,
                max_waiting=self._max_waiting,
            )

    def relieve(self) -> None:
        """Called by the worker after applying: read on once half the room is free."""
        if self.paused and self.waiting.count <= self._max_waiting // 2:
            consumer = self.subscriber.consumer
            consumer.resume(*consumer.assignment())
            self.paused = False
            log.info("usage reading resumed", waiting=self.waiting.count)
