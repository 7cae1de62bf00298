"""The charge of what the latest tick made due (`charge_due`): customers claimed a batch at a
time (`FOR UPDATE SKIP LOCKED` shares them among every worker of every instance; the ledger's
keys make a double charge impossible whatever the timing), each batch charged in a unit of
work of its own (`charging.charge_batch`), and ChargesSettled once none is left.

Failure isolation, a service-layer policy (docs/contract.md §4 Errors): a batch that fails for
its own sake is rolled back and charged again one customer at a time; a customer that fails on
every try, one assignment at a time; an assignment that still fails is held (reason
"failed: …") and a customer's top-ups that fail are set aside, so that the tick settles without
them. A failure of the infrastructure (PostgreSQL unreachable) is raised: the caller retries."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from uuid import UUID

import structlog

from charger import metrics
from charger.domain.charge_run import Made
from charger.service_layer import planning, reports, topups
from charger.service_layer.charging import charge_batch, hold_failing
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.ports import UnitOfWork, UnitsOfWork
from pkgcontract.messages import ChargesSettled, natural_event_id
from pkgshared.failures import infrastructure_failed, tried
from pkgshared.faults import crash_point

log = structlog.get_logger(__name__)

PROGRESS_LOG_SECONDS = 5.0
"""How often a long charge logs how far it is."""


async def charge_due(units: UnitsOfWork, deps: Dependencies) -> bool:
    """Charge batches of due customers until none is left, then settle the tick; True when any
    customer was charged. `units` opens each transaction."""
    started = last_log = time.perf_counter()
    total, customers = Made(), 0
    settled: ChargesSettled | None = None
    while True:
        async with units() as uow:
            clock = await uow.clock.clock()
            if clock is None:
                return customers > 0
            at, tick_id = clock
            metrics.TICK_AT.set(at.timestamp())
            claimed = await uow.ledger.claim_due_customers(at, deps.batch_customers)
            if not claimed:
                settled = await settle_tick(uow)
                if settled is not None:
                    await uow.commit()
                break
            tick = tick_id or natural_event_id(f"tick:{at.isoformat()}")
            failure: Exception | None = None
            try:
                made, taken = await charge_batch(claimed, uow, deps.policy, at, tick)
                crash_point("charger_before_commit")
                await uow.commit()
                crash_point("charger_after_commit")
            except Exception as exc:
                if await infrastructure_failed(exc, deps.healthy):
                    raise
                failure = exc
        if failure is not None:  # rolled back: one customer, then one assignment at a time
            log.warning(
                "charging a batch failed; charging its customers one by one",
                customers=len(claimed),
                error=f"{type(failure).__name__}: {failure}"[:500],
            )
            made, taken = await one_by_one(claimed, units, deps, at, tick), claimed
        customers += len(taken)
        total.add(made)
        metrics.record(made)
        now = time.perf_counter()
        if now - last_log > PROGRESS_LOG_SECONDS:
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
            "charging done", customers=customers, **total.log_fields(), seconds=round(seconds, 3)
        )
    return customers > 0


async def settle_tick(uow: UnitOfWork) -> ChargesSettled | None:
    """ChargesSettled for the accepted tick, once nothing it made due is left (the caller has
    found no customer due): the allowance expires grants and the ticker sends the next tick."""
    tick = await uow.clock.tick_to_settle()
    if tick is None:
        return None
    settled = reports.settled(*tick)
    uow.emit(settled)
    await uow.clock.mark_settled()
    return settled


async def one_by_one(
    claimed: list[str], units: UnitsOfWork, deps: Dependencies, at: datetime, tick_id: UUID
) -> Made:
    """Charge `claimed` one customer at a time; a customer whose charging fails on every
    try, one assignment at a time; an assignment that still fails is held, so that the tick
    settles without it."""
    made = Made()
    for customer in claimed:
        done, error = await _tried(customer, units, deps, at, tick_id, None)
        if done is not None:
            made.add(done)
            continue
        async with units() as uow:
            due_ids = await uow.ledger.due_ids(customer, at)
        for assignment_id in due_ids:
            only = frozenset({assignment_id})
            done, error = await _tried(customer, units, deps, at, tick_id, only)
            if done is not None:
                made.add(done)
                continue
            due: planning.DueCount = (0, None, None)
            with contextlib.suppress(Exception):  # best effort: it may fail the same way
                async with units() as uow:
                    due = await planning.what_was_due(uow, customer, assignment_id, at)
            async with units() as uow:
                if await hold_failing(customer, uow, assignment_id, at, tick_id, error, due):
                    made.held += 1
                    metrics.HELD_FAILED.inc()
                await uow.commit()
        made.add(await _topups_alone(customer, units, deps, at))
    return made


async def _tried(
    customer: str,
    units: UnitsOfWork,
    deps: Dependencies,
    at: datetime,
    tick_id: UUID,
    only: frozenset[UUID] | None,
) -> tuple[Made | None, str]:
    """Charge one customer (of `only`, when given) in a transaction of its own, up to
    `deps.tries.attempts` times; what it made, or None and the last error. A failure of the
    infrastructure is raised (the whole charge is retried)."""

    async def charge() -> Made:
        async with units() as uow:
            if not await uow.ledger.claim_customer(customer, at):
                return Made()  # charged meanwhile, or another worker has it
            made, _ = await charge_batch([customer], uow, deps.policy, at, tick_id, only)
            await uow.commit()
            return made

    outcome = await tried(
        charge,
        deps.tries,
        deps.healthy,
        customer_id=customer,
        assignment_id=str(next(iter(only))) if only else None,
    )
    return outcome.value, outcome.error


async def _topups_alone(
    customer: str, units: UnitsOfWork, deps: Dependencies, at: datetime
) -> Made:
    """The customer's due top-ups on their own; when they fail on every try, set aside
    (status "failed") so that the tick settles without them."""

    async def make() -> Made:
        async with units() as uow:
            made = await topups.make_customer_topups(uow, customer, at)
            await uow.commit()
            return made

    outcome = await tried(make, deps.tries, deps.healthy, customer_id=customer, charges="top-ups")
    if outcome.done:
        return outcome.value or Made()
    async with units() as uow:
        await topups.set_aside(uow, customer, at, outcome.error)
        await uow.commit()
    return Made()
