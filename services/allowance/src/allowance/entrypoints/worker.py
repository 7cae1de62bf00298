"""The apply worker: claims customers whose first waiting call the charger has settled and
applies their calls to their grants. Every instance runs one; `FOR UPDATE SKIP LOCKED` shares
the customers, the calls' `applied` flag and the outbox commit together."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import structlog

from allowance.adapters.repository import APPLY_CHANNEL
from allowance.service_layer import handlers
from allowance.service_layer.unit_of_work import AllowanceUnitOfWork
from pkgshared.faults import crash_point
from pkgshared.workers import NotifiedWorker

if TYPE_CHECKING:
    from pkgshared.db import Pool


log = structlog.get_logger(__name__)


class ApplyWorker(NotifiedWorker):
    # A moved horizon and settled calls read by any instance wake this one (NOTIFY).
    channel = APPLY_CHANNEL
    what = "applying calls"

    def __init__(
        self,
        pool: Pool,
        on_commit: Any,
        batch_customers: int = 500,
        per_customer: int = 1000,
        poll_seconds: float = 0.5,
    ) -> None:
        super().__init__(pool, poll_seconds)
        self._on_commit = on_commit
        self._batch = batch_customers
        self._per_customer = per_customer

    async def drain(self) -> bool:
        """Apply batches until no settled call waits; True when anything was applied."""
        started = time.perf_counter()
        calls = covered = 0
        while True:
            uow = AllowanceUnitOfWork(self._pool, on_commit=self._on_commit)
            async with uow:
                horizon = await uow.repository.horizon()
                if horizon is None:
                    break
                claimed = await uow.repository.claim_waiting(horizon, self._batch)
                if not claimed:
                    break
                applied, used = await handlers.apply_waiting(
                    uow, claimed, horizon, self._per_customer
                )
                crash_point("allowance_before_commit")
                await uow.commit()
                crash_point("allowance_after_commit")
            calls += applied
            covered += used
        if calls:
            log.info(
                "calls applied",
                calls=calls,
                covered=covered,
                seconds=round(time.perf_counter() - started, 3),
            )
        return calls > 0
