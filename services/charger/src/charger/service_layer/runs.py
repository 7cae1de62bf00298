"""RunPackage (docs/contract.md §4): a customer's charges due by the end of a date, reported, and
charged unless simulated. Its work is bounded by the contract (RUN_PACKAGE_MAX_DAYS after the
latest tick; a simulated run's catch-up limit) and done in pieces (pkgshared.pacing): the
charges are listed a chunk of periods at a time, decided, recorded and emitted `RUN_PIECE` at a
time, and the report is made a part at a time, with the event loop given a turn in between."""

from __future__ import annotations

import heapq
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from operator import attrgetter
from uuid import UUID

import structlog

from charger import metrics
from charger.domain.catch_up import Policy
from charger.domain.charge_run import Made, outcomes
from charger.domain.charges import Charge
from charger.domain.decisions import Outcome, decide
from charger.domain.model import MonthTotals
from charger.service_layer import planning, reports
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.ports import UnitOfWork
from charger.service_layer.run_charges import run_charges
from charger.service_layer.ticks import INPUTS
from pkgcontract.messages import RunPackage
from pkgshared.exceptions import RuleBroken
from pkgshared.pacing import breathe, pieces

log = structlog.get_logger(__name__)

RUN_PIECE = 5000
"""Charges decided, recorded and emitted at a time."""

_ORDER = attrgetter("order")


async def run_package(cmd: RunPackage, uow: UnitOfWork, deps: Dependencies) -> None:
    """RunPackage: every charge due by the end of the date, reported; those not yet made are
    charged unless simulated. A real run charges held assignments too, and releases them; a
    simulated one reports an assignment over the catch-up limit as one held line (docs/contract.md
    §4); its events carry the command's correlation_id. RuleBroken past the horizon."""
    policy = deps.policy
    await within_horizon(uow, cmd, policy)
    if deps.inputs is not None:
        await deps.inputs.check(cmd.event_id, partial(uow.read_positions, INPUTS))
    started = time.perf_counter()
    store, customer = uow.ledger, cmd.customer_id
    await store.lock_customer(customer)
    limit_of_run = policy.catch_up_limit if cmd.simulate else None
    run = await run_charges(uow, customer, cmd.date, limit_of_run)
    existing = await planning.ledger_status(store, [c.key for c in run.charges])
    limit = (await store.spend_limits([customer])).get(customer)
    totals = (await store.month_totals([customer])).get(customer, MonthTotals())
    new = await planning.net_of_spends(store, [c for c in run.charges if c.key not in existing])
    decisions: list[tuple[Charge, Outcome]] = []
    declined: set[tuple[str, str]] = set()  # periods whose debit was declined
    async for piece in pieces(await _in_order(new), RUN_PIECE):
        decisions += decide(list(piece), limit, totals, scheduled=False, declined_periods=declined)
    made = Made()
    if not cmd.simulate:
        made_at = datetime.now(UTC)  # the events' occurred_at: metadata, never a due decision
        async for part in pieces(decisions, RUN_PIECE):
            done = outcomes(list(part), "run_package", made_at, made, cmd.correlation_id)
            for event in done.events:
                uow.emit(event)
                await breathe()
            await store.record(done.rows)
        await store.mark_run_charged(sorted({c.assignment.assignment_id for c, _ in decisions}))
        held = [t.assignment.assignment_id for t in run.tracked if t.hold == "held"]
        if held:
            await store.release(held)
            log.info("held charges released by a run", customer_id=customer, count=len(held))
    metrics.record(made)  # a real run's debits, grants and declines count like a tick's
    lines = await reports.run_lines(run.charges, existing, decisions, cmd.simulate, run.held)
    for report in reports.report_parts(cmd, lines, await reports.run_totals(lines)):
        uow.emit(report)
        await breathe()
    log.info(
        "package run",
        customer_id=customer,
        date=str(cmd.date),
        simulate=cmd.simulate,
        lines=len(lines),
        held_assignments=[str(h.first.assignment.assignment_id) for h in run.held][:20],
        seconds=round(time.perf_counter() - started, 3),
        **made.log_fields(),
    )


async def within_horizon(uow: UnitOfWork, cmd: RunPackage, policy: Policy) -> None:
    """RuleBroken when the run's date is more than RUN_PACKAGE_MAX_DAYS after the UTC date of
    the latest tick (any date before the first tick)."""
    at = await uow.clock.tick_at()
    if at is None:
        return
    ticked = at.astimezone(UTC).date()
    latest = ticked + timedelta(days=policy.run_max_days)
    if cmd.date > latest:
        raise RuleBroken(
            f"RunPackage date {cmd.date} is more than RUN_PACKAGE_MAX_DAYS "
            f"({policy.run_max_days}) days after the charger's latest tick ({ticked}): "
            f"the latest date allowed is {latest}",
            "date",
            f"after the RunPackage horizon: more than RUN_PACKAGE_MAX_DAYS "
            f"({policy.run_max_days}) days after the latest tick ({ticked})",
        )


async def _in_order(charges: list[Charge]) -> list[Charge]:
    """`charges` in the order a run decides them (period_start, assignment, debit before
    grant): each assignment's sorted, then merged, with breaths between."""
    of: dict[UUID, list[Charge]] = {}
    for c in charges:
        of.setdefault(c.assignment.assignment_id, []).append(c)
    for group in of.values():
        group.sort(key=_ORDER)
        await breathe()
    ordered: list[Charge] = []
    for c in heapq.merge(*of.values(), key=_ORDER):
        ordered.append(c)
        await breathe()
    return ordered
