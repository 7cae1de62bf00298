"""The tick worker: claims batches of customers with something due by the latest tick and
charges them. Every charger instance runs one; `FOR UPDATE SKIP LOCKED` shares the work, the
ledger's keys make a double charge impossible whatever the timing."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import structlog

from charger import metrics
from charger.adapters.clock import TICK_CHANNEL
from charger.service_layer import tick_work
from charger.service_layer.unit_of_work import ChargerUnitOfWork
from pkgshared import topics
from pkgshared.faults import crash_point
from pkgshared.messages import ChargesSettled, natural_event_id
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
        policy: tick_work.Policy | None = None,
    ) -> None:
        super().__init__(pool, poll_seconds, concurrency)
        self._policy = policy or tick_work.Policy()
        self._on_commit = on_commit
        self._batch = batch_customers

    async def _settle(self, uow: ChargerUnitOfWork) -> ChargesSettled | None:
        """Write ChargesSettled for the accepted tick once nothing it made due is left."""
        tick = await uow.clock.tick_to_settle()
        if tick is None:
            return None
        tick_id, at = tick
        settled = ChargesSettled(
            event_id=natural_event_id(f"settled:{tick_id}"), tick_id=tick_id, at=at
        )
        uow.emit(topics.CHARGER_PROGRESS, "clock", settled)
        await uow.clock.mark_settled()
        await uow.commit()
        return settled

    async def drain(self) -> bool:
        """Charge batches until nothing is due; True when anything was done."""
        started = time.perf_counter()
        total = tick_work.Made()
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
                made, taken = await tick_work.charge_claimed(
                    uow,
                    claimed,
                    at,
                    tick_id or natural_event_id(f"tick:{at.isoformat()}"),
                    self._policy,
                )
                crash_point("charger_before_commit")
                await uow.commit()
                crash_point("charger_after_commit")
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
