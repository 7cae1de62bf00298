"""A poll's ticks (docs/contract.md §4 ClockTicked): each too far ahead of the charger's wall clock
refused (TickRefused, once per tick_id), then the latest of the others accepted
(`handlers.accept_tick`). A refused tick is not the latest tick: it moves nothing, settles
nothing, and the ticks after it are judged as usual. Inside the caller's unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog

from charger import metrics
from charger.domain.charge_run import latest_tick
from charger.domain.clock_guard import ClockGuard
from charger.service_layer import handlers
from charger.service_layer.ports import UnitOfWork
from pkgcontract import topics
from pkgcontract.messages import ClockTicked, TickRefused, natural_event_id
from pkgshared.barrier import InputsBarrier

log = structlog.get_logger(__name__)

CLOCK_KEY = "clock"
"""TickRefused's key on charger.events (docs/contract.md §3), as ChargesSettled's on
charger.progress."""


@dataclass(frozen=True)
class Taken:
    """What a poll's ticks did: the tick that moved the clock (or None), how many were
    refused, how many changed nothing (not later than the clock)."""

    accepted: ClockTicked | None
    refused: int
    ignored: int


async def take_ticks(
    ticks: list[ClockTicked],
    uow: UnitOfWork,
    inputs: InputsBarrier[tuple[str, int]],
    guard: ClockGuard,
    wall_clock: Callable[[], datetime],
) -> Taken:
    """Refuse the ticks too far ahead, accept the latest of the others."""
    # The one place the charger reads the wall clock: only to refuse a tick too far ahead of
    # it, never to decide what is due (the ticks alone decide that).
    now = wall_clock()
    kept = []
    for tick in ticks:
        if guard.refuses(tick.at, now):
            await refuse_tick(uow, tick, now, guard)
        else:
            kept.append(tick)
    refused = len(ticks) - len(kept)
    if not kept:
        return Taken(None, refused, 0)
    tick = latest_tick(kept)
    if await handlers.accept_tick(tick, uow, inputs):
        return Taken(tick, refused, 0)
    return Taken(None, refused, len(kept))


async def refuse_tick(
    uow: UnitOfWork, tick: ClockTicked, wall_clock: datetime, guard: ClockGuard
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
        topics.CHARGER_EVENTS,
        CLOCK_KEY,
        TickRefused(
            event_id=natural_event_id(f"refused:{tick.tick_id}"),
            tick_id=tick.tick_id,
            at=tick.at,
            wall_clock=wall_clock,
            reason=guard.reason(tick.at, wall_clock),
            correlation_id=tick.correlation_id,
        ),
    )
    metrics.TICKS_REFUSED.inc()
    log.warning("tick refused: too far ahead of the wall clock", **fields)
