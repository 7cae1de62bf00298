"""How every service consumes a topic: whole polls at a time, in one PostgreSQL transaction
each, and never stalled by one message.

A poll (up to `batch_max_records` records, or what arrived within `batch_wait_ms`) is read
record by record (`pkgcontract.messages.read`) and handled in one unit of work:
- records this schema has already read (offset below the stored one) are skipped: a redelivery
  after a crash changes nothing (a handler that keeps what it read in memory, and seeks back
  to read it again after a restart, is handed the readable ones: `KeepsWhatItReads`);
- an unreadable record becomes a DeadLetter on `<topic>.dlq`, a command that breaks a schema
  rule a CommandRejected, both written to the outbox in the same transaction;
- the others go to the service's handler, in order;
- the stored offset of each partition moves past all of them, with their effects.

A batch that fails is split in halves until the record at fault is alone; every other record
commits. A record that still fails after `handler_max_attempts` tries, while PostgreSQL
answers, is dead-lettered with the error. A failure of the infrastructure itself (PostgreSQL
or Kafka unreachable) is retried without end, and so is RetryLater (a view catching up): the
poll is handed back to Kafka (nack: the consumer seeks back) and comes again after a pause.
A handler may hold records back by key instead (pkgshared.holding: the stored offset never
passes them; they come back through `present`).
Why it is built this way: docs/decisions/0002-batch-consumers.md."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from pkgshared.exceptions import RetryLater
from pkgshared.failures import infrastructure_failed, pause
from pkgshared.faults import crash_point, raise_once
from pkgshared.holding import HeldRecords
from pkgshared.incoming import BatchHandler, Incoming, KeepsWhatItReads, incoming
from pkgshared.metrics import record_outcomes
from pkgshared.poll_chunks import chunk_bounds as chunk_bounds
from pkgshared.poll_chunks import read_in_chunks
from pkgshared.refusals import emit_dead_letter, sort_out
from pkgshared.stuck import WATCH
from pkgshared.uow import PostgresUnitOfWork

log = structlog.get_logger(__name__)
_FAULTS = bool(os.environ.get("FAULT_RAISE_ONCE"))


class NotYet(Exception):
    """The poll is handed back to Kafka, to come again after a pause."""


class BatchConsumer:
    """Consumes one topic for one service (see the module docstring)."""

    def __init__(
        self,
        topic: str,
        handler: BatchHandler,
        unit_of_work: Callable[[], PostgresUnitOfWork],
        *,
        rejections_topic: str | None = None,
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        first_retry_seconds: float = 0.05,
        healthy: Callable[[], Awaitable[bool]] | None = None,
        read_as: str | None = None,
        group: str | None = None,
        pipeline_chunk: int = 0,
        keeper: KeepsWhatItReads | None = None,
        held: HeldRecords | None = None,
    ) -> None:
        self.topic = topic
        self._keeper = keeper
        self._held = held
        self.group = group
        self._rules = read_as
        self._handler = handler
        self._uow = unit_of_work
        self._rejections = rejections_topic
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._first_retry = first_retry_seconds
        self._healthy = healthy
        self._pipeline_chunk = pipeline_chunk
        self._failures: dict[tuple[int, int], int] = {}

    @property
    def work(self) -> str:
        """How the stuck watch names this consumer."""
        return f"consumer {self.group or ''} {self.topic}".replace("  ", " ")

    async def consume(self, records: Sequence[Any]) -> None:
        """Handle one poll. Raises NotYet (after the pause) when it must come again."""
        if not records:
            return
        keeper = self._keeper
        if keeper is None:
            await self.consume_in_hand(records)
            return
        async with keeper.poll_lock:
            if self._held is not None:
                records = self._held.admit(records)
            try:
                if records:
                    await self.consume_in_hand(records)
            except NotYet:
                keeper.seek_back(records)

    async def present(self, batch: list[Incoming]) -> None:
        """Records held back (pkgshared.holding) handed to the handler again, as a poll of
        theirs; raises when they must come again later."""
        await self._handle(batch)

    async def consume_in_hand(self, records: Sequence[Any]) -> None:
        """Handle one poll whose keeper's lock, if any, the caller holds (consume, or
        pkgshared.copartitioned). Raises NotYet (after the pause) when it must come again."""
        started = time.perf_counter()
        batch: list[Incoming] = []
        try:
            if self._pipeline_chunk and len(records) > self._pipeline_chunk:
                await self._pipelined(records, batch)
            else:
                batch = [incoming(self.topic, r, self._rules) for r in records]
                await self._handle(batch)
        except RetryLater as exc:
            log.info("message not handled yet; it will be retried", why=str(exc), topic=self.topic)
            record_outcomes(self.topic, "retried", 1, 0.0)
            await asyncio.sleep(self._backoff)
            raise NotYet(str(exc)) from exc
        except Exception as exc:
            log.exception("message failed; it will be retried", topic=self.topic)
            record_outcomes(self.topic, "failed", 1, 0.0)
            WATCH.failed(self.work, f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self._backoff)
            raise NotYet(str(exc)) from exc
        else:
            WATCH.succeeded(self.work)
        finally:
            elapsed = time.perf_counter() - started
            log.debug("batch consumed", topic=self.topic, records=len(batch), seconds=elapsed)

    async def _pipelined(self, records: Sequence[Any], batch: list[Incoming]) -> None:
        """A large poll's first try: read a chunk at a time into `batch`, each chunk's
        reading overlapping the previous chunk's statements in PostgreSQL (one transaction,
        as always). When it fails for the messages' sake, the usual way takes over."""
        try:
            await self._transaction(batch, records)
        except RetryLater:
            raise
        except Exception as exc:
            if await self._infrastructure(exc):
                raise
            batch += [incoming(self.topic, r, self._rules) for r in records[len(batch) :]]
            await self._handle(batch)
            return
        self._forget(batch)

    def _forget(self, batch: list[Incoming]) -> None:
        """Their failed tries no longer count: they are handled."""
        for item in batch:
            self._failures.pop((item.partition, item.offset), None)

    async def _handle(self, batch: list[Incoming]) -> None:
        while True:
            try:
                await self._transaction(batch)
                self._forget(batch)
                return
            except RetryLater:
                raise
            except Exception as exc:
                if await self._infrastructure(exc):
                    raise
                if len(batch) > 1:
                    middle = len(batch) // 2
                    await self._handle(batch[:middle])
                    await self._handle(batch[middle:])
                    return
                item = batch[0]
                place = (item.partition, item.offset)
                attempt = self._failures[place] = self._failures.get(place, 0) + 1
                error = f"{type(exc).__name__}: {exc}"
                if attempt >= self._max_attempts:
                    await self._dead_letter_failed(item, error, attempt)
                    self._failures.pop(place, None)
                    return
                log.warning(
                    "message failed; it will be retried",
                    **item.where(),
                    attempt=attempt,
                    error=error[:500],
                    exc_info=attempt == 1,
                )
                await pause(attempt, self._first_retry, self._backoff)

    async def _infrastructure(self, exc: BaseException) -> bool:
        """Is this a failure of PostgreSQL or Kafka rather than of the message?"""
        return await infrastructure_failed(exc, self._healthy)

    async def _transaction(self, batch: list[Incoming], unread: Sequence[Any] = ()) -> None:
        """One unit of work for `batch`, or for the `unread` records (read into `batch` a
        chunk at a time, see `_pipelined`)."""
        started = time.perf_counter()
        counts = {"handled": 0, "rejected": 0, "ignored": 0, "dead_lettered": 0}
        handled = 0
        if self._held is not None:
            self._held.rolled_back()  # nothing held by a transaction that did not commit
        async with self._uow() as uow:
            partitions = {i.partition for i in batch} | {r.partition for r in unread}
            read_to = await uow.lock_read_offsets(self.topic, partitions)
            ends: dict[int, int] = {}
            pending: asyncio.Future[None] | None = None
            refused: list[Incoming] = []
            try:
                async for chunk in read_in_chunks(
                    self.topic, self._rules, batch, unread, self._pipeline_chunk
                ):
                    fresh = [i for i in chunk if i.offset >= read_to.get(i.partition, 0)]
                    counts["ignored"] += len(chunk) - len(fresh)
                    refused += [i for i in chunk if i.problem is not None]
                    if self._keeper is not None and len(fresh) < len(chunk):
                        self._keeper.replay(
                            [
                                i
                                for i in chunk
                                if i.problem is None and i.offset < read_to.get(i.partition, 0)
                            ]
                        )
                    readable = sort_out(
                        uow, fresh, counts, self.topic, self._rejections, self.group
                    )
                    for item in fresh:
                        ends[item.partition] = max(ends.get(item.partition, 0), item.offset + 1)
                    if pending is not None:
                        await pending
                        pending = None
                    if readable:
                        if _FAULTS:
                            raise_once([str(i.message.event_id) for i in readable if i.message])
                        handled += len(readable)
                        pending = asyncio.ensure_future(self._handler(uow, readable))
                        if unread:  # it sends its first statement before the next chunk is read
                            await asyncio.sleep(0)
                if pending is not None:
                    await pending
                if self._keeper is not None and refused:
                    # After the handler has every readable record before them.
                    self._keeper.passed(refused)
            finally:
                # Never leave a handler running on a connection about to be rolled back.
                if pending is not None and not pending.done():
                    pending.cancel()
                    with contextlib.suppress(BaseException):
                        await pending
            if not ends:  # read and committed before: a redelivery
                if self._held is not None:
                    self._held.committed(batch, ends)  # held ones too: handled elsewhere
                record_outcomes(self.topic, "ignored", len(batch), 0.0)
                return
            noted = uow.outcomes
            counts["rejected"] += noted["rejected"]
            counts["ignored"] += noted["ignored"]
            counts["held"] = noted["held"]  # handled when they come again (pkgshared.holding)
            counts["handled"] += handled - noted["rejected"] - noted["ignored"] - noted["held"]
            await self._commit(uow, batch, ends)
        seconds = (time.perf_counter() - started) / max(1, len(batch) - counts["ignored"])
        for outcome, n in counts.items():
            if n:
                record_outcomes(self.topic, outcome, n, seconds)

    async def _dead_letter_failed(self, item: Incoming, error: str, attempts: int) -> None:
        """A record whose handling failed `attempts` times while PostgreSQL answered."""
        if self._held is not None:
            self._held.rolled_back()
        async with self._uow() as uow:
            read_to = await uow.lock_read_offsets(self.topic, {item.partition})
            if item.offset < read_to.get(item.partition, 0):
                return
            emit_dead_letter(
                uow, self.topic, self.group, item, f"handling failed {attempts} times: {error}"
            )
            await self._commit(uow, [item], {item.partition: item.offset + 1})
        record_outcomes(self.topic, "dead_lettered", 1, 0.0)

    async def _commit(self, uow: PostgresUnitOfWork, batch: list[Incoming], ends: Any) -> None:
        """Store how far `batch` read its partitions (never past a record held back) with
        its effects."""
        held = self._held
        await uow.advance_read_offsets(self.topic, held.cap(ends, batch) if held else ends)
        crash_point("before_commit")
        await uow.commit()
        crash_point("after_commit")
        if held is not None:
            held.committed(batch, ends)
