"""The apply worker: claims customers whose first waiting call the charger has settled and
applies their calls to their grants. Every instance runs one; `FOR UPDATE SKIP LOCKED` shares
the customers, the calls' `applied` flag and the outbox commit together."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import structlog

from allowance.adapters.store import APPLY_CHANNEL
from allowance.service_layer import handlers
from allowance.service_layer.unit_of_work import AllowanceUnitOfWork
from pkgshared.faults import crash_point

log = structlog.get_logger(__name__)


class ApplyWorker:
    def __init__(
        self,
        pool: Any,
        on_commit: Any,
        batch_customers: int = 500,
        per_customer: int = 1000,
        poll_seconds: float = 0.5,
    ) -> None:
        self._pool = pool
        self._on_commit = on_commit
        self._batch = batch_customers
        self._per_customer = per_customer
        self._poll = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        def on_notify(*_: object) -> None:
            self.wake()

        listener = await self._pool.acquire()
        await listener.add_listener(APPLY_CHANNEL, on_notify)
        try:
            while True:
                try:
                    worked = await self.drain()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("applying calls failed; retrying")
                    await asyncio.sleep(1.0)
                    continue
                if not worked:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
        finally:
            await listener.remove_listener(APPLY_CHANNEL, on_notify)
            await self._pool.release(listener)

    async def drain(self) -> bool:
        """Apply batches until no settled call waits; True when anything was applied."""
        started = time.perf_counter()
        calls = covered = 0
        while True:
            uow = AllowanceUnitOfWork(self._pool, on_commit=self._on_commit)
            async with uow:
                horizon = await uow.store.horizon()
                if horizon is None:
                    break
                claimed = await uow.store.claim_waiting(horizon, self._batch)
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
