"""Records that wait, by key, without holding back anyone else's (docs/contract.md §4: an
AssignPackage of a package not known yet).

A handler that cannot handle a record yet `hold`s it, with the moment its wait ends; the
key's later records are held behind it, in order (`holds`), and every other key's records
are handled at once. Held records come back to the handler (`run`: through the batch
consumer, as a poll of their own) when something they wait for may have come (`wake`) or when
the first of a key's reaches its moment; the handler then handles them or holds them again.

What is held lives in this process's memory only; Kafka and PostgreSQL keep it safe:
- the stored offset of a partition never passes a record held (`cap`), so a restart, or a
  partition handed to another instance, reads it again: a partition handed over is read from
  its stored offset (`assigned`; pkgshared.held_reading seeks there), not from the group's
  committed offset; the records after it that were handled are read again too, and the
  command de-dup by event_id (pkgshared.commands) ignores them;
- a poll fetched before a rebalance and handled after it is left out (`admit`), so the
  stored offset never passes records that are no longer in memory;
- what a transaction holds counts only once it commits (`committed`; `rolled_back` forgets it)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from pkgshared.incoming import Incoming

log = structlog.get_logger(__name__)

Place = tuple[int, int]
"""(partition, offset) of a record."""
Present = Callable[[list[Incoming]], Awaitable[None]]
"""Hand held records to the handler again, in transactions of their own."""


@dataclass(slots=True)
class _Held:
    item: Incoming
    until: float | None  # when its own wait ends; None: held only behind its key's first


def _place(item: Incoming) -> Place:
    return (item.partition, item.offset)


class HeldRecords:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, retry_seconds: float = 1.0
    ) -> None:
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
        self._mine: set[int] | None = None  # the partitions handed over (None: all)
        self._next: dict[int, int] = {}  # the offset each partition reads next
        self._gap: dict[int, int] = {}
        self.poll_lock = asyncio.Lock()  # a poll, a presentation or a rebalance at a time
        self.seek: Callable[[str, int, int], None] | None = None  # (topic, partition, offset)

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
            failed: Exception | None = None
            async with self.poll_lock:
                items = self.take_due(everything)
                if not items:
                    continue
                try:
                    await present(items)
                except Exception as exc:
                    failed = exc
                finally:
                    self.restore()
            if failed is not None:  # e.g. PostgreSQL away, or a view behind: all again later
                log.warning(
                    "held records not handled yet; they will be tried again",
                    records=len(items),
                    error=f"{type(failed).__name__}: {failed}"[:300],
                )
                self.wake()
                await asyncio.sleep(self._retry)

    # ------------------------------------------------------------ where partitions are read
    def admit(self, records: Sequence[Any]) -> list[Any]:
        """The records of a poll to handle. Left out: those of partitions not this
        instance's (a poll fetched before they were taken away), those held already (read
        again), and a partition's records that do not follow what it has read since it was
        handed over (a poll fetched before: the partition is sought back to where it was
        read; the same gap twice is a real one, and is read on)."""
        if self._mine is None:
            return list(records)
        by_partition: dict[int, list[Any]] = {}
        for r in records:
            by_partition.setdefault(r.partition, []).append(r)
        out = []
        for partition, recs in by_partition.items():
            first, expected = recs[0].offset, self._next.get(partition)
            if partition not in self._mine:
                # Not handed over yet (read again from its stored offset once it is), or
                # taken away (the next holder reads it from there).
                log.info("records of a partition not held left out", partition=partition)
                if self.seek is not None:
                    self.seek(recs[0].topic, partition, first)
                continue
            if expected is not None and first > expected and self._gap.get(partition) != first:
                self._gap[partition] = first
                log.info("records read out of turn; read again", partition=partition, at=expected)
                if self.seek is not None:
                    self.seek(recs[0].topic, partition, expected)
                continue
            self._gap.pop(partition, None)
            self._next[partition] = max(recs[-1].offset + 1, expected or 0)
            out += [r for r in recs if r.offset not in self._open.get(partition, ())]
        return out

    def handed_over(self) -> None:
        """Only the partitions `assigned` from now on are this instance's (a rebalance
        listener tells)."""
        self._mine = set()

    def read_from(self, partition: int, offset: int) -> None:
        """The partition is read again from `offset` (a poll handed back)."""
        if partition in self._next:
            self._next[partition] = min(self._next[partition], offset)

    def assigned(self, resume: dict[int, int | None]) -> None:
        """Partitions handed to this instance, read from their stored offsets (None: from
        the group's): what was held of them before is read again."""
        self._mine = (self._mine or set()) | set(resume)
        self.drop(resume)
        for partition, offset in resume.items():
            if offset is not None:
                self._next[partition] = offset

    def revoked(self, partitions: Iterable[int]) -> None:
        gone = set(partitions)
        self._mine = (self._mine or set()) - gone
        self.drop(gone)

    def drop(self, partitions: Iterable[int]) -> None:
        gone = set(partitions)
        for key in [k for k, q in self._queues.items() if q[0].item.partition in gone]:
            del self._queues[key]
        for p in gone:
            for state in (self._open, self._seen, self._next, self._gap):
                state.pop(p, None)
