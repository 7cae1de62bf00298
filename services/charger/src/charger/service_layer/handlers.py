"""Charger handlers: projections (each message once, by offset), ticks, RunPackage."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

import structlog

from charger.service_layer import charging
from charger.service_layer.unit_of_work import ChargerUnitOfWork
from pkgshared import topics
from pkgshared.barrier import InputsBarrier
from pkgshared.messages import (
    AssignmentChanged,
    AssignmentEnded,
    ClockTicked,
    Message,
    PackageAssigned,
    PackageDefined,
    PackageRunReported,
    RunPackage,
    SpendLimitSet,
    UsageRated,
    natural_event_id,
)
from pkgshared.uow import handle_command_once

log = structlog.get_logger(__name__)

# The topics whose content a tick or a run must take into account.
INPUTS = (topics.CATALOG_PACKAGES, topics.ASSIGNMENT_EVENTS, topics.USAGE_RATED)


@dataclass(frozen=True)
class Position:
    topic: str  # the contract topic name
    partition: int
    offset: int


async def project(event: Message, at: Position, uow: ChargerUnitOfWork) -> None:
    """Apply one input event to the projections, once (the offset is kept with the effect)."""
    async with uow:
        store = uow.store
        if await store.already_consumed(at.topic, at.partition, at.offset):
            return
        if isinstance(event, PackageDefined):
            await store.add_version(event)
        elif isinstance(event, PackageAssigned):
            await store.apply_assigned(event)
        elif isinstance(event, AssignmentChanged):
            await store.apply_changed(event)
        elif isinstance(event, AssignmentEnded):
            await store.apply_ended(event)
        elif isinstance(event, SpendLimitSet):
            await store.set_spend_limit(event)
        elif isinstance(event, UsageRated):
            await store.add_usage(event)
        await store.mark_consumed(at.topic, at.partition, at.offset)
        await uow.commit()


async def accept_tick(
    tick: ClockTicked, uow: ChargerUnitOfWork, inputs: InputsBarrier[tuple[str, int]]
) -> bool:
    """Accept a tick once everything published before it has been read; True when it moved
    the clock (the workers then make what it made due)."""
    async with uow:
        await inputs.check(tick.event_id, uow.store.consumed_positions)
        moved = await uow.store.advance_clock(tick.at)
        await uow.commit()
    log.info(
        "tick accepted" if moved else "tick ignored: not later than the last one",
        tick_id=str(tick.tick_id),
        at=tick.at.isoformat(),
    )
    return moved


async def run_package(
    cmd: RunPackage, uow: ChargerUnitOfWork, inputs: InputsBarrier[tuple[str, int]]
) -> None:
    async def apply() -> None:
        await inputs.check(cmd.event_id, uow.store.consumed_positions)
        started = time.perf_counter()
        lines, made = await charging.run_for_customer(uow, cmd.customer_id, cmd.date, cmd.simulate)
        totals: dict[str, Decimal] = {}
        for line in lines:
            if line.status in ("charged", "would_charge") and line.amount is not None:
                assert line.currency is not None
                totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.amount
        report = PackageRunReported(
            event_id=natural_event_id(f"report:{cmd.event_id}"),
            request_id=cmd.request_id,
            customer_id=cmd.customer_id,
            date=cmd.date,
            simulate=cmd.simulate,
            lines=lines,
            totals=totals,
            correlation_id=cmd.correlation_id,
        )
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

    def reject(_: object) -> None:  # RunPackage breaks no rule beyond its schema
        raise AssertionError("unreachable")

    await handle_command_once(uow, cmd, topics.CHARGER_COMMANDS, apply, reject)
