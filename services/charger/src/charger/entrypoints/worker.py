"""The tick worker: claims batches of customers with something due by the latest tick and
charges them. Every charger instance runs one; `FOR UPDATE SKIP LOCKED` shares the work, the
ledger's keys make a double charge impossible whatever the timing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog

from charger import metrics
from charger.adapters.clock import TICK_CHANNEL
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.domain.catch_up import Policy
from charger.domain.charge_run import Made
from charger.service_layer import handlers, planning, topups
from pkgcontract.messages import ChargesSettled, natural_event_id
from pkgshared.failures import Tries, infrastructure_failed, tried
from pkgshared.faults import crash_point
from pkgshared.workers import NotifiedWorker

if TYPE_CHECKING:
    from pkgshared.db import Pool


log = structlog.get_logger(__name__)


class TickWorker(NotifiedWorker):
    # Ticks accepted by another instance wake this one too (NOTIFY on the clock's commit).
    channel = TICK_CHANNEL
    what = "tick work"

    def __init__(
        self,
        pool: Pool,
        on_commit: Any,
        batch_customers: int = 500,
        poll_seconds: float = 0.5,
        concurrency: int = 2,
        policy: Policy | None = None,
        tries: Tries | None = None,
    ) -> None:
        super().__init__(pool, poll_seconds, concurrency)
        self._policy = policy or Policy()
        self._on_commit = on_commit
        self._batch = batch_customers
        self._tries_policy = tries or Tries()

    async def _database_answers(self) -> bool:
        async with asyncio.timeout(2):
            return bool(await self._pool.fetchval("SELECT 1") == 1)

    async def _isolate(
        self, claimed: list[str], at: datetime, tick_id: UUID
    ) -> tuple[Made, list[str]]:
        """Charge `claimed` one customer at a time; a customer whose charging fails on every
        try, one assignment at a time; an assignment that still fails is held (reason
        "failed: …"), so that the tick settles without it (docs/contract.md §4 Errors)."""
        made = Made()
        for customer in claimed:
            done, error = await self._tries(customer, at, tick_id, None)
            if done is not None:
                made.add(done)
                continue
            async with ChargerUnitOfWork(self._pool) as uow:
                due_ids = await uow.ledger.due_ids(customer, at)
            for assignment_id in due_ids:
                done, error = await self._tries(customer, at, tick_id, frozenset({assignment_id}))
                if done is not None:
                    made.add(done)
                    continue
                due: tuple[int, date | None, date | None] = (0, None, None)
                with contextlib.suppress(Exception):  # best effort: it may fail the same way
                    async with ChargerUnitOfWork(self._pool) as uow:
                        due = await planning.what_was_due(uow, customer, assignment_id, at)
                async with ChargerUnitOfWork(self._pool, on_commit=self._on_commit) as uow:
                    if await handlers.hold_failed(
                        uow, customer, assignment_id, at, tick_id, error, due
                    ):
                        made.held += 1
                        metrics.HELD_FAILED.inc()
                    await uow.commit()
            made.add(await self._isolate_topups(customer, at))
        return made, claimed

    async def _isolate_topups(self, customer: str, at: datetime) -> Made:
        """The customer's due top-ups on their own; when they fail on every try, set aside
        (status "failed") so that the tick settles without them."""

        async def make() -> Made:
            async with ChargerUnitOfWork(self._pool, on_commit=self._on_commit) as uow:
                made = await topups.make_customer_topups(uow, customer, at)
                await uow.commit()
                return made

        outcome = await tried(
            make,
            self._tries_policy,
            self._database_answers,
            customer_id=customer,
            charges="top-ups",
        )
        if outcome.done:
            return outcome.value or Made()
        async with ChargerUnitOfWork(self._pool, on_commit=self._on_commit) as uow:
            await topups.set_aside(uow, customer, at, outcome.error)
            await uow.commit()
        return Made()

    async def _tries(
        self, customer: str, at: datetime, tick_id: UUID, only: frozenset[UUID] | None
    ) -> tuple[Made | None, str]:
        """Charge one customer (of `only`, when given) in a transaction of its own, up to
        `max_attempts` times; what it made, or None and the last error. A failure of the
        infrastructure is raised (the whole drain is retried)."""

        async def charge() -> Made:
            async with ChargerUnitOfWork(self._pool, on_commit=self._on_commit) as uow:
                if not await uow.ledger.claim_customer(customer, at):
                    return Made()  # charged meanwhile, or another worker has it
                made, _ = await handlers.charge_tick(
                    uow, [customer], at, tick_id, self._policy, only
                )
                await uow.commit()
                return made

        outcome = await tried(
            charge,
            self._tries_policy,
            self._database_answers,
            customer_id=customer,
            assignment_id=str(next(iter(only))) if only else None,
        )
        return outcome.value, outcome.error

    async def _settle(self, uow: ChargerUnitOfWork) -> ChargesSettled | None:
        settled = await handlers.settle_tick(uow)
        if settled is not None:
            await uow.commit()
        return settled

    async def drain(self) -> bool:
        """Charge batches until nothing is due; True when anything was done."""
        started = time.perf_counter()
        total = Made()
        customers = 0
        settled: ChargesSettled | None = None
        last_log = started
        while True:
            uow = ChargerUnitOfWork(self._pool, on_commit=self._on_commit)
            async with uow:
                clock = await uow.clock.clock()
                if clock is None:
                    return customers > 0
                at, tick_id = clock
                metrics.TICK_AT.set(at.timestamp())
                claimed = await uow.ledger.claim_due_customers(at, self._batch)
                if not claimed:
                    settled = await self._settle(uow)
                    break
                tick = tick_id or natural_event_id(f"tick:{at.isoformat()}")
                failure: Exception | None = None
                try:
                    made, taken = await handlers.charge_tick(uow, claimed, at, tick, self._policy)
                    crash_point("charger_before_commit")
                    await uow.commit()
                    crash_point("charger_after_commit")
                except Exception as exc:
                    if await infrastructure_failed(exc, self._database_answers):
                        raise
                    failure = exc
            if failure is not None:  # rolled back: one customer, then one assignment at a time
                log.warning(
                    "charging a batch failed; charging its customers one by one",
                    customers=len(claimed),
                    error=f"{type(failure).__name__}: {failure}"[:500],
                )
                made, taken = await self._isolate(claimed, at, tick)
            customers += len(taken)
            total.add(made)
            metrics.record(made)
            now = time.perf_counter()
            if now - last_log > 5:
                last_log = now
                log.info(
                    "charging in progress",
                    customers=customers,
                    **total.log_fields(),
                    rate_per_s=round((total.charged + total.grants) / (now - started)),
                )
        if settled:
            log.info("charges settled", tick_id=str(settled.tick_id), at=settled.at.isoformat())
        if customers:
            seconds = time.perf_counter() - started
            metrics.RUN_SECONDS.observe(seconds)
            log.info(
                "charging done",
                customers=customers,
                **total.log_fields(),
                seconds=round(seconds, 3),
            )
        return customers > 0
