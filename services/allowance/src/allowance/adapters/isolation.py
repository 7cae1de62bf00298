"""After a batch failed for its calls' sake, the calls checkpoint applies the settled calls,
the calls to park and the parked calls settled each in a transaction of its own, in order; a
call that fails on every try is dead-lettered and its customer's later calls go on
(docs/contract.md §4 Errors). Part of allowance.adapters.checkpoint.CallsCheckpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allowance.adapters.unit_of_work import AllowanceUnitOfWork
from allowance.adapters.waiting import Waiting, WaitingCalls
from allowance.service_layer import dead_letters, handlers
from pkgshared.failures import Tries, tried

if TYPE_CHECKING:
    from allowance.adapters.checkpoint import Limits
    from pkgshared.db import Pool


class OneByOne:
    """What CallsCheckpoint applies one call at a time (its poll lock is held by the caller)."""

    waiting: WaitingCalls
    _pool: Pool
    _source: str
    _group: str
    _tries: Tries
    _stored: dict[int, int]
    _limits: Limits

    def _uow(self) -> AllowanceUnitOfWork:
        raise NotImplementedError

    async def _database_answers(self) -> bool:
        raise NotImplementedError

    async def _isolate(self) -> int:
        """The settled calls, those to park and the parked ones settled, one per transaction;
        returns the calls applied."""
        waiting = self.waiting
        if waiting.horizon is None:
            return 0
        most = self._limits.batch_calls
        applied = 0
        for w in waiting.settled(waiting.horizon, most, self._limits.per_customer):
            applied += await self._one(w, park=False)
        for w in waiting.parking(most):
            applied += await self._one(w, park=True)
        for _ in range(most):  # the parked calls settled, one at a time
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
        waiting = self.waiting

        async def apply() -> handlers.Applied:
            reads = waiting.reads
            async with self._uow() as uow:
                store = uow.repository
                await store.hold_partitions([w.partition])
                horizon = await store.horizon()
                assert horizon is not None
                settled, parking = ([], [w.call]) if park else ([w.call], [])
                batch = handlers.CallsToApply(
                    horizon, settled, parking, {w.call.customer_id: w.partition}, [w.partition]
                )
                done = await handlers.apply_waiting(batch, uow)
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
        async with self._uow() as uow:
            await uow.repository.hold_partitions([w.partition])
            place = (self._source, w.partition, w.offset)
            failed = dead_letters.CallFailed(w.call, place, outcome.error, self._group)
            await dead_letters.dead_letter_call(failed, uow)
            await self._store_resume(uow, w)
            await uow.commit()
        waiting.remove([w])
        return 0

    async def _store_resume(self, uow: AllowanceUnitOfWork, w: Waiting) -> None:
        resume = self.waiting.resume_offsets([w])[w.partition]
        await uow.repository.store_call_offsets({w.partition: resume})
        self._stored[w.partition] = resume

    async def _one_parked(self) -> handlers.Applied:
        """Apply the first parked call settled of the partitions held, if any."""
        reads = self.waiting.reads
        held = sorted(self.waiting.partitions())
        async with self._uow() as uow:
            await uow.repository.hold_partitions(held)
            horizon = await uow.repository.horizon()
            assert horizon is not None
            batch = handlers.CallsToApply(horizon, [], [], {}, held, True, 1)
            done = await handlers.apply_waiting(batch, uow)
            await uow.commit()
        self.waiting.parked_after(done.customers_parked, done.customers_back, reads)
        return done

    async def _dead_letter_parked(self, error: str) -> bool:
        """Dead-letter the first parked call settled (it failed every try); False when none
        is left."""
        held = sorted(self.waiting.partitions())
        async with self._uow() as uow:
            store = uow.repository
            await store.hold_partitions(held)
            horizon = await store.horizon()
            assert horizon is not None
            customers = await store.parked_settling(horizon, 1, held)
            first = await store.parked_settled(customers, horizon, 1)
            if not first:
                return False
            seq, call = first[0]
            place = (self._source, -1, -1)
            await dead_letters.dead_letter_call(
                dead_letters.CallFailed(call, place, error, self._group), uow
            )
            await store.unpark([seq])
            await uow.commit()
        return True
