"""The calls checkpoint: the one object that owns, for the partitions of usage.rated this
instance is handed, the calls read and waiting (allowance.adapters.waiting), where each
partition is read again from (its resume point), pausing reading when too many wait, and the
transactions that apply them and commit (as quix-streams' Checkpoint owns offsets, state and
producing). Decision 0007 says why.

The partitions it is handed are its customers' (usage.rated is keyed by customer): every
transaction that writes their state holds the partitions' rows (`hold_partitions`), so an
instance never waits on another's customers, and one that lost a partition without knowing
takes turns with the one it went to. A rebalance waits for the poll or the transaction in
hand (`poll_lock`), then the partitions handed over are read again from their resume points."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import structlog
from aiokafka.abc import ConsumerRebalanceListener

from allowance import metrics
from allowance.adapters.held_partitions import HeldPartitions
from allowance.adapters.horizon import APPLY_CHANNEL
from allowance.adapters.isolation import OneByOne
from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.adapters.waiting import Waiting, WaitingCalls
from allowance.service_layer import handlers
from pkgshared.failures import Tries, infrastructure_failed
from pkgshared.faults import crash_point
from pkgshared.workers import NotifiedWorker

if TYPE_CHECKING:
    from pkgshared.db import Pool

log = structlog.get_logger(__name__)

OFFSETS_EVERY_SECONDS = 5.0
"""How often resume points that moved without a call applied (records that are not calls)
are stored: they only shorten what a restart reads again."""


@dataclass(frozen=True)
class Limits:
    batch_customers: int = 10_000  # customers whose settled calls one transaction applies
    per_customer: int = 1000  # waiting calls of one customer applied per transaction
    batch_calls: int = 10_000  # calls one transaction applies, at most
    max_waiting: int = 2_000_000  # calls held; beyond, reading pauses until half are applied
    park_ahead: timedelta = timedelta(days=1)
    park_after_settles: int = 10


class CallsCheckpoint(HeldPartitions, OneByOne, NotifiedWorker, ConsumerRebalanceListener):
    # A moved horizon (any instance's progress consumer) wakes it (NOTIFY); so does a call
    # read that is settled already.
    channel = APPLY_CHANNEL
    what = "applying calls"

    def __init__(
        self,
        pool: Pool,
        on_commit: Callable[[], None] | None,
        subscribe: Callable[[CallsCheckpoint], Any],
        *,
        limits: Limits = Limits(),
        waiting: WaitingCalls | None = None,
        source_topic: str = "usage.rated",
        grants_topic: str = "billing.free-minutes-granted",
        partitions: Callable[[str], Awaitable[dict[int, int]]] | None = None,
        group: str = "",
        tries: Tries | None = None,
        poll_seconds: float = 0.5,
    ) -> None:
        super().__init__(pool, poll_seconds)
        self.waiting = (
            waiting
            if waiting is not None
            else WaitingCalls(limits.park_ahead, limits.park_after_settles)
        )
        self._limits = limits
        self._on_commit = on_commit
        self._source = source_topic  # the real name, for dead letters
        self._grants_topic = grants_topic  # the real name
        self._partitions_of = partitions  # topic -> its partitions' end offsets
        self._group = group  # the usage consumer's, named in dead letters
        self._tries = tries or Tries()
        self.paused = False
        self._stored: dict[int, int] = {}
        self._stored_at = 0.0
        self._look_at_parked = True  # parked calls may have been settled while it was down
        # Held while a poll is handled (pkgshared.incoming.KeepsWhatItReads) or a transaction
        # applies: a rebalance waits for them (aiokafka waits for these callbacks).
        self.poll_lock = asyncio.Lock()
        self._subscriber = subscribe(self)  # its `consumer` seeks and pauses once started

    async def check_partitions(self) -> None:
        """usage.rated and the grants topic must have the same partitions, or the member
        handed a partition of one would not read its customers' records of the other: the
        service stops (exit 1) rather than run so. A task of its own at start, beside `run`:
        Kafka's metadata can take tens of seconds on a loaded machine, and applying does not
        wait for it."""
        if self._partitions_of is None:
            return
        pause = 0.5
        while True:
            try:
                usage = await self._partitions_of(self._source)
                grants = await self._partitions_of(self._grants_topic)
                break
            except Exception as exc:  # no metadata yet (RetryLater), Kafka not answering
                log.info("partitions not known yet; retrying", error=str(exc)[:300])
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
        if sorted(usage) != sorted(grants):
            log.error(
                "usage.rated and the grants topic differ in partitions: an instance would not "
                "own its customers' grants; give them the same count",
                usage_partitions=len(usage),
                grants_partitions=len(grants),
            )
            raise SystemExit(1)

    def _uow(self) -> AllowanceUnitOfWork:
        return AllowanceUnitOfWork(self._pool, on_commit=self._on_commit)

    # ------------------------------------------------------------ applying
    async def drain(self) -> bool:
        """Apply settled calls until none is left; True when any was applied."""
        started = time.perf_counter()
        calls = covered = 0
        waiting = self.waiting
        while True:
            try:
                async with self.poll_lock:
                    done = await self._apply_once()
            except Exception as exc:
                # What was chosen is still waiting, and parked calls still parked: again.
                waiting.ready = waiting.park_due = self._look_at_parked = True
                if await infrastructure_failed(exc, self._database_answers):
                    raise
                log.warning(
                    "applying a batch of calls failed; applying them one by one",
                    error=f"{type(exc).__name__}: {exc}"[:500],
                )
                async with self.poll_lock:
                    calls += await self._isolate()
                waiting.ready = waiting.park_due = self._look_at_parked = True
                continue
            except BaseException:
                waiting.ready = waiting.park_due = self._look_at_parked = True
                raise
            if done is None:
                break
            left, applied = done
            calls += applied.calls
            covered += applied.covered
            metrics.WAITING.set(waiting.count)
            self._relieve()
            if not left and not applied.more_parked:
                break
            waiting.ready = True  # more may be settled: the caps cut this batch
        metrics.WAITING.set(waiting.count)
        async with self.poll_lock:
            await self._expire_when_read()
        if calls:
            log.info(
                "calls applied",
                calls=calls,
                covered=covered,
                seconds=round(time.perf_counter() - started, 3),
            )
        return calls > 0

    async def _apply_once(self) -> tuple[bool, handlers.Applied] | None:
        """One transaction, under the poll lock: the settled calls (and those to park) of the
        partitions held, their resume points moved past them, committed; then they leave
        memory. None: nothing to do; else whether any call left memory, and what was done."""
        waiting, limits = self.waiting, self._limits
        async with self._uow() as uow:
            horizon = await uow.repository.horizon()
            if horizon is None:
                return None
            moved = horizon != waiting.horizon
            waiting.set_horizon(horizon)
            chosen: list[Waiting] = []
            if moved or waiting.ready:
                waiting.ready = False
                chosen = waiting.settled(horizon, limits.batch_calls, limits.per_customer)
                chosen = _customers_cut(chosen, limits.batch_customers)
            parking = waiting.parking(limits.batch_calls)
            look = moved or self._look_at_parked
            self._look_at_parked = False
            leaving = chosen + parking
            resume = waiting.resume_offsets(leaving)
            changed = {p: o for p, o in resume.items() if self._stored.get(p) != o}
            if (
                not leaving
                and not look
                and not (changed and time.monotonic() - self._stored_at >= OFFSETS_EVERY_SECONDS)
            ):
                return None
            held = sorted(waiting.partitions())
            await uow.repository.hold_partitions(held)
            reads = waiting.reads
            batch = handlers.CallsToApply(
                horizon,
                [w.call for w in chosen],
                [w.call for w in parking],
                {w.call.customer_id: w.partition for w in leaving},
                held,
                look,
                limits.batch_calls,
            )
            done = await handlers.apply_waiting(batch, uow)
            if changed:
                await uow.repository.store_call_offsets(changed)
            crash_point("allowance_before_commit")
            await uow.commit()
            crash_point("allowance_after_commit")
        waiting.remove(leaving)
        waiting.parked_after(done.customers_parked, done.customers_back, reads)
        metrics.CUSTOMERS_PARKED.set(len(waiting.parked))
        self._stored.update(changed)
        self._stored_at = time.monotonic()
        if done.parked:
            waiting.park_due = True  # the cap may have cut them
        if done.more_parked:
            self._look_at_parked = True
        return bool(leaving), done

    async def _expire_when_read(self) -> bool:
        """Calls before expiry (docs/contract.md §6): say which partitions this instance has read
        to where usage.rated ended when the pending expiry's ChargesSettled was read, with the
        calls it settles applied; the grants expire once every partition is."""
        waiting = self.waiting
        async with self._uow() as uow:
            pending = await uow.repository.expiry()
            if pending is None:
                return False
            at, ends = pending
            ready = {
                p: at for p in waiting.partitions() if p in ends and waiting.read_to(p, ends[p], at)
            }
            expired = await handlers.expire_if_ready(ready, uow)
            await uow.commit()
        return expired

    async def _database_answers(self) -> bool:
        async with asyncio.timeout(2):
            return bool(await self._pool.fetchval("SELECT 1") == 1)


def _customers_cut(chosen: list[Waiting], most: int) -> list[Waiting]:
    """The first of `chosen` up to `most` customers (a customer's calls all in or all out)."""
    seen: set[str] = set()
    out = []
    for w in chosen:
        customer = w.call.customer_id
        if customer not in seen:
            if len(seen) == most:
                continue
            seen.add(customer)
        out.append(w)
    return out
