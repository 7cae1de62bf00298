"""Records that wait, by key, without holding back anyone else's (CONTRACT.md §4: an
AssignPackage of a package not known yet).

A handler that cannot handle a record yet `hold`s it, with the moment its wait ends; the
key's later records are held behind it, in order (`holds`), and every other key's records
are handled at once. Held records come back to the handler (`run`: through the batch
consumer, as a poll of their own) when something they wait for may have come (`wake`) or when
the first of a key's reaches its moment; the handler then handles them or holds them again.

What is held lives in this process's memory only; Kafka and PostgreSQL keep it safe:
- the stored offset of a partition never passes a record held (`cap`), so a restart, or a
  partition handed to another instance, reads it again: this instance seeks its partitions
  to the stored offsets when they are handed to it (`stored_offsets`), not to the group's
  committed offset; the records after it that were handled are read again too, and the
  command de-dup by event_id (pkgshared.commands) ignores them;
- what a transaction holds counts only once it commits (`committed`; `rolled_back` forgets it).

It is a `KeepsWhatItReads` (pkgshared.incoming) and the subscriber's rebalance listener."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener

from pkgshared.incoming import Incoming

log = structlog.get_logger(__name__)

Place = tuple[int, int]
"""(partition, offset) of a record."""
Present = Callable[[list[Incoming]], Awaitable[None]]
"""Hand held records to the handler again, in transactions of their own."""
StoredOffsets = Callable[[list[int]], Awaitable[dict[int, int]]]
"""How far the database has read each of these partitions (absent: never read)."""


@dataclass(slots=True)
class _Held:
    item: Incoming
    until: float | None  # when its own wait ends; None: held only behind its key's first


def _place(item: Incoming) -> Place:
    return (item.partition, item.offset)


class HeldRecords(ConsumerRebalanceListener):
    def __init__(
        self,
        stored_offsets: StoredOffsets | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry_seconds: float = 1.0,
    ) -> None:
        self._stored = stored_offsets
        self._clock = clock
        self._retry = retry_seconds
        self._queues: dict[bytes | None, deque[_Held]] = {}
        self._open: dict[int, set[int]] = {}  # offsets held or being presented, by partition
        self._seen: dict[int, int] = {}  # how far each partition was handled or held
        self._staged: list[_Held] = []  # held by the transaction under way
        self._staged_keys: set[bytes | None] = set()
        self._taken: dict[Place, _Held] = {}  # being presented again
        self._changed = asyncio.Event()
        self._everything = False
        self.poll_lock = asyncio.Lock()
        self.subscriber: Any = None  # set once subscribed: its `consumer` seeks

    # ------------------------------------------------------------ what a handler asks
    def holds(self, key: bytes | None) -> bool:
        """Does `key` have a record waiting (its later records wait behind it)?"""
        return key in self._queues or key in self._staged_keys

    def hold(self, item: Incoming, until: float | None = None) -> None:
        """`item` waits: until `until` (this clock) at most, or behind its key's first."""
        self._staged.append(_Held(item, until))
        self._staged_keys.add(item.key)

    @property
    def count(self) -> int:
        return sum(len(q) for q in self._queues.values())

    # ------------------------------------------------------------ the batch consumer's side
    def cap(self, ends: dict[int, int], batch: Sequence[Incoming]) -> dict[int, int]:
        """The offsets a transaction handling `batch` (which read each partition up to `ends`)
        may store: never past a record still held once it commits."""
        done = {_place(i) for i in batch}
        staged: dict[int, list[int]] = {}
        for h in self._staged:
            staged.setdefault(h.item.partition, []).append(h.item.offset)
        out = {}
        for partition, end in ends.items():
            still = [o for o in self._open.get(partition, ()) if (partition, o) not in done]
            still += staged.get(partition, [])
            out[partition] = min(still) if still else max(end, self._seen.get(partition, 0))
        return out

    def committed(self, batch: Sequence[Incoming], ends: dict[int, int]) -> None:
        """The transaction that handled `batch` committed: what it held waits, the rest of
        the records it was given are done."""
        for partition, end in ends.items():
            self._seen[partition] = max(end, self._seen.get(partition, 0))
        held = {_place(h.item) for h in self._staged}
        for item in batch:
            place = _place(item)
            self._taken.pop(place, None)
            if place not in held:
                self._open.get(item.partition, set()).discard(item.offset)
        for h in self._staged:
            self._open.setdefault(h.item.partition, set()).add(h.item.offset)
            self._queues.setdefault(h.item.key, deque()).append(h)
        if self._staged:
            self._changed.set()  # a new first of a key: the timer looks again
        self.rolled_back()

    def rolled_back(self) -> None:
        self._staged.clear()
        self._staged_keys.clear()

    # ------------------------------------------------------------ presenting them again
    def wake(self) -> None:
        """What held records wait for may have come (a view read more): present them all."""
        self._everything = True
        self._changed.set()

    def _due_in(self) -> float | None:
        firsts = [q[0].until for q in self._queues.values() if q]
        if not firsts:
            return None
        return max(0.0, min(0.0 if u is None else u for u in firsts) - self._clock())

    def take_due(self, everything: bool = False) -> list[Incoming]:
        """The held records of every key whose first's wait has ended (all with
        `everything`), in order, taken out of the queues until `restore`."""
        now = self._clock()
        keys = [
            key
            for key, q in self._queues.items()
            if everything or q[0].until is None or q[0].until <= now
        ]
        out = []
        for key in keys:
            for h in self._queues.pop(key):
                self._taken[_place(h.item)] = h
                out.append(h.item)
        return out

    def restore(self) -> None:
        """Records taken and not handed over in a committed transaction wait again, first."""
        back: dict[bytes | None, list[_Held]] = {}
        for h in self._taken.values():
            back.setdefault(h.item.key, []).append(h)
        self._taken.clear()
        for key, held in back.items():
            queue = self._queues.setdefault(key, deque())
            queue.extendleft(reversed(sorted(held, key=lambda h: _place(h.item))))

    async def run(self, present: Present) -> None:
        """Present held records when their keys' firsts are due, or all of them on `wake`."""
        while True:
            with_timeout = self._due_in()
            try:
                async with asyncio.timeout(with_timeout):
                    await self._changed.wait()
            except TimeoutError:
                pass
            self._changed.clear()
            everything, self._everything = self._everything, False
            async with self.poll_lock:
                items = self.take_due(everything)
                if not items:
                    continue
                try:
                    await present(items)
                except Exception as exc:
                    log.warning(
                        "held records not handled yet; they will be tried again",
                        records=len(items),
                        error=f"{type(exc).__name__}: {exc}"[:300],
                    )
                    self.wake()
                    await asyncio.sleep(self._retry)
                finally:
                    self.restore()

    # ------------------------------------------------------------ KeepsWhatItReads
    def replay(self, batch: list[Incoming]) -> None:
        """Records below the stored offset: handled before (the offset never passes a held
        one), nothing to do."""

    def passed(self, batch: list[Incoming]) -> None:
        """Unreadable records: dead-lettered in their poll's transaction."""

    def seek_back(self, records: Sequence[Any]) -> None:
        """A poll that must come again: its partitions are read again from its first records
        (under the poll lock: no rebalance in between)."""
        first: dict[Any, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            first[tp] = min(first.get(tp, r.offset), r.offset)
        consumer = self.subscriber.consumer
        mine = consumer.assignment()
        for tp, offset in first.items():
            if tp in mine:
                consumer.seek(tp, offset)

    # ------------------------------------------------------------ the rebalance listener
    def _drop(self, partitions: Iterable[int]) -> None:
        gone = set(partitions)
        for key in [k for k, q in self._queues.items() if q[0].item.partition in gone]:
            del self._queues[key]
        for p in gone:
            self._open.pop(p, None)
            self._seen.pop(p, None)

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self.poll_lock:
            self._drop(tp.partition for tp in revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if not assigned or self._stored is None:
            return
        stored = await self._stored_offsets(sorted(tp.partition for tp in assigned))
        async with self.poll_lock:
            self._drop(tp.partition for tp in assigned)
            for tp in assigned:
                if tp.partition in stored:
                    self.subscriber.consumer.seek(tp, stored[tp.partition])
        log.info("partitions assigned; read from their stored offsets", stored=stored)

    async def _stored_offsets(self, partitions: list[int]) -> dict[int, int]:
        """Read until PostgreSQL answers: reading on from the group's offset could skip held
        records (the rebalance waits meanwhile; nothing can be handled without PostgreSQL)."""
        assert self._stored is not None
        pause = 0.5
        while True:
            try:
                return await self._stored(partitions)
            except Exception as exc:
                log.warning("stored offsets not read; retrying", error=str(exc)[:300])
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
