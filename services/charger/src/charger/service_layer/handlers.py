"""The charger's handlers, by the message they take: every one is `handler(message, uow, deps)`
(charger.service_layer.dependencies), inside the caller's unit of work. The commands of
charger.commands (RunPackage is `runs`'s, GrantMinutes `topups`', ReleaseHeldCharges here), the
events of its input topics (`input_events`) and the clock's ticks (`ticks`). The charge of what
a tick made due runs transactions of its own: `charge_due.charge_due`, called by the tick
worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from charger import metrics
from charger.service_layer import input_events, runs, ticks, topups
from charger.service_layer.dependencies import NONE, Dependencies
from charger.service_layer.ports import UnitOfWork
from pkgcontract import topics
from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    ChargesReleased,
    ClockTicked,
    CommandRejected,
    GrantMinutes,
    Message,
    PackageAssigned,
    PackageDefined,
    PackageRetired,
    ReleaseHeldCharges,
    RunPackage,
    SpendLimitSet,
    UsageRated,
    UsageReversed,
    natural_event_id,
)
from pkgcontract.messages.reading import TOPIC_MESSAGES
from pkgshared.exceptions import RuleBroken
from pkgshared.pacing import breathe

log = structlog.get_logger(__name__)

INPUTS = ticks.INPUTS


async def release_held(cmd: ReleaseHeldCharges, uow: UnitOfWork, _deps: Dependencies) -> None:
    """ReleaseHeldCharges: the next tick makes everything due for the assignment, in order,
    without the catch-up limit (docs/contract.md §4)."""
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
        ChargesReleased(
            event_id=natural_event_id(f"released:{cmd.event_id}"),
            customer_id=cmd.customer_id,
            assignment_id=cmd.assignment_id,
            correlation_id=cmd.correlation_id,
        )
    )
    metrics.RELEASED.inc()
    log.info(
        "held charges released",
        customer_id=cmd.customer_id,
        assignment_id=str(cmd.assignment_id),
    )


Handler = Callable[[Any, UnitOfWork, Dependencies], Awaitable[object]]

COMMAND_HANDLERS: dict[type[Message], Handler] = {
    RunPackage: runs.run_package,
    ReleaseHeldCharges: release_held,
    GrantMinutes: topups.grant_minutes,
}
"""The handler of each message type of charger.commands (pkgcontract.messages.reading)."""

EVENT_HANDLERS: dict[type[Message], Handler] = {
    PackageDefined: input_events.add_versions,
    PackageAssigned: input_events.add_assignments,
    AssignmentChanged: input_events.update_assignments,
    AssignmentEnded: input_events.update_assignments,
    SpendLimitSet: input_events.set_spend_limits,
    UsageRated: input_events.add_usage,
    UsageReversed: input_events.reverse_usage,
    ClockTicked: ticks.take_ticks,
}
"""The handler of each event type the charger reads; each takes a run of consecutive events
of its type (`handle_events`)."""

IGNORED: frozenset[type[Message]] = frozenset({PackageRetired, CommandRejected})
"""Read and changing nothing: a retired package's assignments are charged as before, and the
other services' rejections concern their senders."""

assert set(COMMAND_HANDLERS) == set(TOPIC_MESSAGES[topics.CHARGER_COMMANDS])
assert set(EVENT_HANDLERS) | IGNORED == {
    m for topic in (*INPUTS, topics.CLOCK_TICKS) for m in TOPIC_MESSAGES[topic]
}


async def handle_command(
    cmd: RunPackage | ReleaseHeldCharges | GrantMinutes, uow: UnitOfWork, deps: Dependencies
) -> None:
    """A command of charger.commands; RuleBroken when it breaks a rule."""
    await COMMAND_HANDLERS[type(cmd)](cmd, uow, deps)


async def handle_events(
    events: Sequence[Message], uow: UnitOfWork, deps: Dependencies = NONE
) -> None:
    """A batch of input events, in order (the caller stores how far it has read with them):
    each run of consecutive events with one handler goes to it at once. A run of changes and
    ends names each assignment once, so that the order of one assignment's events is kept."""
    run: list[Message] = []
    handler: Handler | None = None
    named: set[object] = set()  # the assignments of a run of changes and ends
    for event in events:
        await breathe()
        mine = EVENT_HANDLERS.get(type(event))
        if mine is None:
            continue
        assignment = getattr(event, "assignment_id", None)
        if mine is not handler or (mine is input_events.update_assignments and assignment in named):
            if handler is not None:
                await handler(run, uow, deps)
            run, handler = [], mine
            named.clear()
        run.append(event)
        named.add(assignment)
    if handler is not None:
        await handler(run, uow, deps)
