"""The apply worker: applies the waiting calls the charger has settled (read by this
instance, held in allowance.domain.waiting) in transactions of a bounded size, and moves each
partition's resume point to its first call still waiting, with them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from allowance import metrics
from allowance.adapters.repository import APPLY_CHANNEL
from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.domain.waiting import Waiting, WaitingCalls
from allowance.service_layer import handlers
from pkgcontract import topics
from pkgshared.failures import Tries, infrastructure_failed, tried
from pkgshared.faults import crash_point
from pkgshared.workers import NotifiedWorker

if TYPE_CHECKING:
    from pkgshared.db import Pool


log = structlog.get_logger(__name__)

OFFSETS_EVERY_SECONDS = 5.0
"""How often resume points that moved without a call applied (records that are not calls)
are stored: they only shorten what a restart reads again."""


class ApplyWorker(NotifiedWorker):
    # A moved horizon (any instance's progress consumer) wakes this one (NOTIFY); so does
    # this instance's reader when a call already settled is read.
    channel = APPLY_CHANNEL
    what = "applying calls"

    def __init__(
        self,
        pool: Pool,
        waiting: WaitingCalls,
        on_commit: Any,
        batch_customers: int = 2000,
        per_customer: int = 1000,
        batch_calls: int = 10_000,
        poll_seconds: float = 0.5,
        relieve: Callable[[], None] | None = None,
        source_topic: str = topics.USAGE_RATED,
        group: str | None = None,
        tries: Tries | None = None,
    ) -> None:
        super().__init__(pool, poll_seconds)
        self._source = source_topic  # the real name, for dead letters
        self.group = group  # the usage consumer's, named in dead letters (set by the wiring)
        self._tries = tries or Tries()
        self._waiting = waiting
        self._on_commit = on_commit
        self._batch_customers = batch_customers
        self._per_customer = per_customer
        self._batch_calls = batch_calls
        self._relieve = relieve
        self._stored: dict[int, int] = {}
        self._stored_at = 0.0
        self._look_at_parked = True  # parked calls may have been settled while it was down

    async def drain(self) -> bool:
        """Apply settled calls until none is left; True when any was applied."""
        started = time.perf_counter()
        calls = covered = 0
        waiting = self._waiting
        while True:
            uow = AllowanceUnitOfWork(self._pool, on_commit=self._on_commit)
            reads = waiting.reads
            try:
                leaving, changed, done = await self._apply_once(uow)
            except Exception as exc:
                # What was chosen is still waiting, and parked calls still parked: again.
                waiting.ready = waiting.park_due = self._look_at_parked = True
                if await infrastructure_failed(exc, self._database_answers):
                    raise
                log.warning(
                    "applying a batch of calls failed; applying them one by one",
                    error=f"{type(exc).__name__}: {exc}"[:500],
                )
                calls += await self._isolate()
                waiting.ready = waiting.park_due = self._look_at_parked = True
                continue
            except BaseException:
                waiting.ready = waiting.park_due = self._look_at_parked = True
                raise
            if leaving is None:
                break
            waiting.remove(leaving)
            waiting.parked_after(done.customers_parked, done.customers_back, reads)
            metrics.CUSTOMERS_PARKED.set(len(waiting.parked))
            self._stored.update(changed)
            self._stored_at = time.monotonic()
            if done.parked:
                waiting.park_due = True  # the cap may have cut them
            if done.more_parked:
                self._look_at_parked = True
            calls += done.calls
            covered += done.covered
            if not leaving and not done.more_parked:
                break
            waiting.ready = True  # more may be settled: the caps cut this batch
            metrics.WAITING.set(waiting.count)
            if self._relieve is not None:
                self._relieve()
        metrics.WAITING.set(waiting.count)
        await self._expire_when_read()
        if calls:
            log.info(
                "calls applied",
                calls=calls,
                covered=covered,
                seconds=round(time.perf_counter() - started, 3),
            )
        return calls > 0

    async def _expire_when_read(self) -> bool:
        """Calls before expiry (CONTRACT.md §6): say which partitions this instance has read
        to where usage.rated ended when the pending expiry's ChargesSettled was read, with the
        calls it settles applied; the grants expire once every partition is."""
        waiting = self._waiting
        async with AllowanceUnitOfWork(self._pool, on_commit=self._on_commit) as uow:
            pending = await uow.repository.expiry()
            if pending is None:
                return False
            at, ends = pending
            ready = {
                p: at for p in waiting.partitions() if p in ends and waiting.read_to(p, ends[p], at)
            }
            expired = await handlers.expire_if_ready(uow, ready)
            await uow.commit()
        return expired

    async def _database_answers(self) -> bool:
        async with asyncio.timeout(2):
            return bool(await self._pool.fetchval("SELECT 1") == 1)

    async def _isolate(self) -> int:
        """After a batch failed for its calls' sake: the settled calls, the calls to park and
        the parked calls settled, each in a transaction of its own, in order; a call that
        fails on every try is dead-lettered and its customer's later calls go on
        (CONTRACT.md §4 Errors). Returns the calls applied."""
        waiting = self._waiting
        if waiting.horizon is None:
            return 0
        applied = 0
        for w in waiting.settled(waiting.horizon, self._batch_calls, self._per_customer):
            applied += await self._one(w, park=False)
        for w in waiting.parking(self._batch_calls):
            applied += await self._one(w, park=True)
        for _ in range(self._batch_calls):  # the parked calls settled, one at a time
            outcome = await tried(self._one_parked, self._tries, self._database_answers)
            if outcome.done:
                assert outcome.value is not None
                applied += outcome.value.calls
                if not outcome.value.more_parked:
                    break
            elif not await self._dead_letter_parked(outcome.error):
                break
        return applied

    async def _one(self, w: Waiting, park: bool) -> int:
        """Apply (or park) one call held in memory; dead-letter it when it fails every try."""
        waiting = self._waiting

        async def apply() -> handlers.Applied:
            reads = waiting.reads
            async with AllowanceUnitOfWork(self._pool, on_commit=self._on_commit) as uow:
                horizon = await uow.repository.horizon()
                assert horizon is not None
                settled, parking = ([], [w.call]) if park else ([w.call], [])
                done = await handlers.apply_waiting(uow, horizon, settled, parking, False, 1)
                await self._store_resume(uow, w)
                await uow.commit()
            waiting.remove([w])
            waiting.parked_after(done.customers_parked, done.customers_back, reads)
            return done

        where = {"customer_id": w.call.customer_id, "usage_id": str(w.call.usage_id)}
        outcome = await tried(apply, self._tries, self._database_answers, **where)
        if outcome.done:
            assert outcome.value is not None
            return outcome.value.calls
        async with AllowanceUnitOfWork(self._pool, on_commit=self._on_commit) as uow:
            place = (self._source, w.partition, w.offset)
            await handlers.dead_letter_call(uow, w.call, place, outcome.error, self.group or "")
            await self._store_resume(uow, w)
            await uow.commit()
        waiting.remove([w])
        return 0

    async def _store_resume(self, uow: AllowanceUnitOfWork, w: Waiting) -> None:
        resume = self._waiting.resume_offsets([w])[w.partition]
        await uow.repository.store_call_offsets({w.partition: resume})
        self._stored[w.partition] = resume

    async def _one_parked(self) -> handlers.Applied:
        """Apply the first parked call settled, if any."""
        reads = self._waiting.reads
        async with AllowanceUnitOfWork(self._pool, on_commit=self._on_commit) as uow:
            horizon = await uow.repository.horizon()
            assert horizon is not None
            done = await handlers.apply_waiting(uow, horizon, [], [], True, 1)
            await uow.commit()
        self._waiting.parked_after(done.customers_parked, done.customers_back, reads)
        return done

    async def _dead_letter_parked(self, error: str) -> bool:
        """Dead-letter the first parked call settled (it failed every try); False when none
        is left."""
        async with AllowanceUnitOfWork(self._pool, on_commit=self._on_commit) as uow:
            store = uow.repository
            horizon = await store.horizon()
            assert horizon is not None
            customers = await store.parked_settling(horizon, 1)
            await store.lock_customers(customers)
            first = await store.parked_settled(customers, horizon, 1)
            if not first:
                return False
            seq, call = first[0]
            place = (self._source, -1, -1)
            await handlers.dead_letter_call(uow, call, place, error, self.group or "")
            await store.unpark([seq])
            await uow.commit()
        return True

    async def _apply_once(
        self, uow: AllowanceUnitOfWork
    ) -> tuple[list[Waiting] | None, dict[int, int], handlers.Applied]:
        """One transaction: the calls that leave memory (applied or parked) and the resume
        points stored (None: there was nothing to do), and what was done."""
        waiting = self._waiting
        nothing: tuple[None, dict[int, int], handlers.Applied] = (None, {}, handlers.Applied())
        async with uow:
            horizon = await uow.repository.horizon()
            if horizon is None:
                return nothing
            moved = horizon != waiting.horizon
            waiting.set_horizon(horizon)
            chosen: list[Waiting] = []
            if moved or waiting.ready:
                waiting.ready = False
                chosen = waiting.settled(horizon, self._batch_calls, self._per_customer)
                chosen = _customers_cut(chosen, self._batch_customers)
            parking = waiting.parking(self._batch_calls)
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
                return nothing
            done = await handlers.apply_waiting(
                uow,
                horizon,
                [w.call for w in chosen],
                [w.call for w in parking],
                look,
                self._batch_calls,
            )
            if changed:
                await uow.repository.store_call_offsets(changed)
            crash_point("allowance_before_commit")
            await uow.commit()
            crash_point("allowance_after_commit")
        return leaving, changed, done


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
