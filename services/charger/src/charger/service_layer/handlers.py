"""Charger handlers: ticks, RunPackage, ReleaseHeldCharges; each inside the caller's unit of work
(the projections are in `projection`)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import structlog

from charger import metrics
from charger.service_layer import tick_work
from charger.service_layer.ports import UnitOfWork
from pkgcontract import topics
from pkgcontract.messages import (
    ChargesReleased,
    ClockTicked,
    Message,
    PackageRunReported,
    ReleaseHeldCharges,
    RunLine,
    RunPackage,
    natural_event_id,
)
from pkgcontract.messages.reading import TOPIC_MESSAGES
from pkgshared.barrier import InputsBarrier
from pkgshared.exceptions import RuleBroken

log = structlog.get_logger(__name__)

# The topics whose content a tick or a run must take into account.
INPUTS = (topics.CATALOG_PACKAGES, topics.ASSIGNMENT_EVENTS, topics.USAGE_RATED)


def latest_tick(ticks: list[ClockTicked]) -> ClockTicked:
    """Of ticks queued together, the one to handle: handling only the latest charges the same
    periods in the same order as handling each (CONTRACT.md §4 ChargesSettled)."""
    latest = ticks[0]
    for tick in ticks[1:]:
        if tick.at >= latest.at:
            latest = tick
    return latest


async def accept_tick(
    tick: ClockTicked, uow: UnitOfWork, inputs: InputsBarrier[tuple[str, int]]
) -> bool:
    """Accept a tick once everything published before it has been read; True when it moved
    the clock (the workers then make what it made due). Inside the caller's unit of work."""
    await inputs.check(tick.event_id, _positions(uow))
    moved = await uow.clock.advance_clock(tick.at, tick.tick_id)
    if moved:
        released = await uow.ledger.wake_released(tick.at)
        if released:
            log.info("released assignments due", count=released, tick_id=str(tick.tick_id))
    log.info(
        "tick accepted" if moved else "tick ignored: not later than the last one",
        tick_id=str(tick.tick_id),
        at=tick.at.isoformat(),
    )
    return moved


def _positions(uow: UnitOfWork) -> Callable[[], Awaitable[dict[tuple[str, int], int]]]:
    async def positions() -> dict[tuple[str, int], int]:
        return await uow.read_positions(INPUTS)

    return positions


async def release_held(uow: UnitOfWork, cmd: ReleaseHeldCharges) -> None:
    """ReleaseHeldCharges: the next tick makes everything due for the assignment, in order,
    without the catch-up limit (CONTRACT.md §4)."""
    state = await uow.ledger.hold_of(cmd.customer_id, cmd.assignment_id)
    if state is None:
        raise RuleBroken(
            f"customer {cmd.customer_id} has no assignment {cmd.assignment_id}",
            "assignment_id",
            "unknown assignment",
        )
    if state != "held":
        why = "already released" if state == "released" else "not held"
        raise RuleBroken(f"assignment {cmd.assignment_id} is {why}", "assignment_id", why)
    await uow.ledger.release([cmd.assignment_id])
    uow.emit(
        topics.CHARGER_EVENTS,
        cmd.customer_id,
        ChargesReleased(
            event_id=natural_event_id(f"released:{cmd.event_id}"),
            customer_id=cmd.customer_id,
            assignment_id=cmd.assignment_id,
            correlation_id=cmd.correlation_id,
        ),
    )
    metrics.RELEASED.inc()
    log.info(
        "held charges released",
        customer_id=cmd.customer_id,
        assignment_id=str(cmd.assignment_id),
    )


REPORT_PART_LINES = 2000
"""Most lines in one PackageRunReported (CONTRACT.md §4): a larger report is sent in parts."""


async def run_package(
    uow: UnitOfWork, cmd: RunPackage, inputs: InputsBarrier[tuple[str, int]]
) -> None:
    """Run the customer's packages on the date: report, and charge unless simulated."""
    await inputs.check(cmd.event_id, _positions(uow))
    started = time.perf_counter()
    lines, made = await tick_work.run_for_customer(
        uow, cmd.customer_id, cmd.date, cmd.simulate, cmd.correlation_id
    )
    metrics.record(made)  # a real run's debits, grants and declines count like a tick's
    totals: dict[str, Decimal] = {}
    for line in lines:
        if line.status in ("charged", "would_charge") and line.amount is not None:
            assert line.currency is not None
            totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.amount
    for report in report_parts(cmd, lines, totals):
        uow.emit(topics.CHARGER_EVENTS, cmd.customer_id, report)
    log.info(
        "package run",
        customer_id=cmd.customer_id,
        date=str(cmd.date),
        simulate=cmd.simulate,
        lines=len(lines),
        charged=made.charged,
        declined=made.declined,
        grants=made.grants,
        seconds=round(time.perf_counter() - started, 3),
    )


def report_parts(
    cmd: RunPackage, lines: list[RunLine], totals: dict[str, Decimal]
) -> list[PackageRunReported]:
    """The report of a run, in parts of at most REPORT_PART_LINES lines, each with the full
    totals; part 1's event id is the one a report in one part always had."""
    chunks = [
        lines[i : i + REPORT_PART_LINES] for i in range(0, len(lines), REPORT_PART_LINES)
    ] or [[]]
    return [
        PackageRunReported(
            event_id=natural_event_id(
                f"report:{cmd.event_id}" if n == 1 else f"report:{cmd.event_id}:{n}"
            ),
            request_id=cmd.request_id,
            customer_id=cmd.customer_id,
            date=cmd.date,
            simulate=cmd.simulate,
            lines=chunk,
            totals=totals,
            part=n,
            parts=len(chunks),
            correlation_id=cmd.correlation_id,
        )
        for n, chunk in enumerate(chunks, start=1)
    ]


async def _release(
    uow: UnitOfWork, cmd: ReleaseHeldCharges, _inputs: InputsBarrier[tuple[str, int]]
) -> None:
    await release_held(uow, cmd)


Handler = Callable[[UnitOfWork, Any, InputsBarrier[tuple[str, int]]], Awaitable[None]]
COMMAND_HANDLERS: dict[type[Message], Handler] = {
    RunPackage: run_package,
    ReleaseHeldCharges: _release,
}
"""The handler of each message type of charger.commands (pkgcontract.messages.reading)."""
assert set(COMMAND_HANDLERS) == set(TOPIC_MESSAGES[topics.CHARGER_COMMANDS])


async def apply_command(
    uow: UnitOfWork, cmd: RunPackage | ReleaseHeldCharges, inputs: InputsBarrier[tuple[str, int]]
) -> None:
    """A command of charger.commands; RuleBroken when it breaks a rule."""
    await COMMAND_HANDLERS[type(cmd)](uow, cmd, inputs)
