"""A poll's ticks (docs/contract.md §4 ClockTicked): each too far ahead of the charger's wall clock
refused (TickRefused, once per tick_id), then the latest of the others accepted: the clock
moves, and its commit wakes the tick workers (charger.service_layer.charge_due). A refused tick
is not the latest tick: it moves nothing, settles nothing, and the ticks after it are judged
as usual. Inside the caller's unit of work."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import structlog

from charger import metrics
from charger.domain.charge_run import latest_tick
from charger.domain.clock_guard import ClockGuard
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.ports import UnitOfWork
from pkgcontract import topics
from pkgcontract.messages import ClockTicked, TickRefused, natural_event_id

log = structlog.get_logger(__name__)

INPUTS = (topics.CATALOG_PACKAGES, topics.ASSIGNMENT_EVENTS, topics.USAGE_RATED)
"""The topics whose content a tick or a run must take into account."""


@dataclass(frozen=True)
class Taken:
    """What a poll's ticks did: the tick that moved the clock (or None), how many were
    refused, how many changed nothing (not later than the clock)."""

    accepted: ClockTicked | None
    refused: int
    ignored: int


async def take_ticks(ticks: Sequence[ClockTicked], uow: UnitOfWork, deps: Dependencies) -> Taken:
    """Refuse the ticks too far ahead, accept the latest of the others; the unit of work
    counts the refused ones as rejected and those not later than the clock as ignored."""
    # The one place the charger reads the wall clock: only to refuse a tick too far ahead of
    # it, never to decide what is due (the ticks alone decide that).
    now = deps.wall_clock()
    kept = []
    for tick in ticks:
        if deps.guard.refuses(tick.at, now):
            await refuse_tick(tick, uow, now, deps.guard)
            uow.note("rejected")
        else:
            kept.append(tick)
    refused = len(ticks) - len(kept)
    if not kept:
        return Taken(None, refused, 0)
    tick = latest_tick(kept)
    if await accept_tick(tick, uow, deps):
        metrics.TICK_LAG.set(time.time() - tick.at.timestamp())
        return Taken(tick, refused, 0)
    for _ in kept:  # not later than the clock: they change nothing
        uow.note("ignored")
    return Taken(None, refused, len(kept))


async def accept_tick(tick: ClockTicked, uow: UnitOfWork, deps: Dependencies) -> bool:
    """Accept a tick once everything published before it has been read; True when it moved
    the clock (the workers then make what it made due)."""
    if deps.inputs is not None:
        await deps.inputs.check(tick.event_id, partial(uow.read_positions, INPUTS))
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


async def refuse_tick(
    tick: ClockTicked, uow: UnitOfWork, wall_clock: datetime, guard: ClockGuard
) -> None:
    """TickRefused for `tick`, once per tick_id: the same tick read again (sent twice, or
    redelivered) is refused without a second event."""
    first = await uow.clock.refuse(tick.tick_id, tick.at, wall_clock)
    fields = {
        "tick_id": str(tick.tick_id),
        "at": tick.at.isoformat(),
        "wall_clock": wall_clock.isoformat(),
        "max_ahead_seconds": guard.max_ahead_seconds,
    }
    if not first:
        log.info("tick refused again: too far ahead, already reported", **fields)
        return
    uow.emit(
        TickRefused(
            event_id=natural_event_id(f"refused:{tick.tick_id}"),
            tick_id=tick.tick_id,
            at=tick.at,
            wall_clock=wall_clock,
            reason=guard.reason(tick.at, wall_clock),
            correlation_id=tick.correlation_id,
        )
    )
    metrics.TICKS_REFUSED.inc()
    log.warning("tick refused: too far ahead of the wall clock", **fields)
