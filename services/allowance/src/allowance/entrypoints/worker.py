"""The apply worker: applies the waiting calls the charger has settled (read by this
instance, held in allowance.domain.waiting) in transactions of a bounded size, and moves each
partition's resume point to its first call still waiting, with them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from allowance import metrics
from allowance.adapters.repository import APPLY_CHANNEL
from allowance.domain.waiting import Waiting, WaitingCalls
from allowance.service_layer import handlers
from allowance.service_layer.unit_of_work import AllowanceUnitOfWork
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
    ) -> None:
        super().__init__(pool, poll_seconds)
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
            except BaseException:
                # What was chosen is still waiting, and parked calls still parked: again.
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
        if calls:
            log.info(
                "calls applied",
                calls=calls,
                covered=covered,
                seconds=round(time.perf_counter() - started, 3),
            )
        return calls > 0

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
