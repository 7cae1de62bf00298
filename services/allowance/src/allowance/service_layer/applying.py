"""Settled calls and reversals applied, each customer's in the order read, to their
customers' grants inside the caller's unit of work (docs/contract.md §6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from allowance import metrics
from allowance.domain.events import BalanceChanged, MinutesUsed
from allowance.domain.model import Call, Grant, cover, thresholds
from allowance.domain.reversal import Reversal, Usage
from allowance.service_layer.ports import UnitOfWork
from allowance.service_layer.reversals import Reversing
from pkgcontract.messages import AllowanceThresholdReached, natural_event_id


async def apply_calls(items: list[Usage], uow: UnitOfWork, deps: Any = None) -> tuple[int, int]:
    """Apply `items` (calls and reversals), settled and in the order read (each customer's in
    its order), to their customers' grants (the caller holds their partitions): calls applied
    before (a repeated usage_id, or a call another instance applied before a rebalance) are
    skipped. Each grant the items changed gives one AllowanceBalance, with its state after
    them (docs/contract.md §6: the calls of one batch may give one balance). Returns (calls and
    reversals applied, calls covered)."""
    store = uow.repository
    if not items:
        return 0, 0
    calls = [c for c in items if type(c) is Call]
    fresh = await store.first_applied([c.usage_id for c in calls]) if calls else set()
    # A repeated reversal_id is ignored, whatever it names (docs/contract.md §4 UsageReversed).
    reversals = [r.reversal_id for r in items if type(r) is Reversal]
    new = await store.first_reversals(reversals) if reversals else set()
    todo: list[Usage] = []
    for item in items:
        if type(item) is Reversal:
            if item.reversal_id in new:
                new.discard(item.reversal_id)  # a second copy in the same batch is a repeat
                todo.append(item)
        elif item.usage_id in fresh:
            fresh.discard(item.usage_id)  # a second copy in the same batch is a repeat
            todo.append(item)
    if not todo:
        return 0, 0
    calls = [c for c in todo if type(c) is Call]
    grants: dict[str, list[Grant]] = (
        await store.usable_grants(
            sorted({c.customer_id for c in calls}),
            min(c.occurred_at for c in calls),
            max(c.occurred_at for c in calls),
        )
        if calls
        else {}
    )
    reversing = await Reversing.prepare([r for r in todo if type(r) is Reversal], store)
    changed: dict[UUID, Grant] = {}
    covered = seconds = 0
    for item in todo:
        if type(item) is Reversal:
            reversing.reverse(item, grants, changed, uow)
            continue
        call: Call = item  # type: ignore[assignment]
        customer = call.customer_id
        coverage = cover(call, grants[customer])
        if not coverage.uses:
            continue
        covered += 1
        state = grants[customer]
        before = [state[u.position] for u in coverage.uses]
        for u in coverage.uses:
            state[u.position] = u.grant
            changed[u.grant.grant_id] = u.grant
        credit = coverage.credit
        uow.emit(MinutesUsed(coverage, credit))
        reversing.covered(call, credit, coverage.uses)
        for old, u in zip(before, coverage.uses, strict=True):
            if u.grant.notify_at_percent:
                for percent in thresholds(old, u.grant):
                    uow.emit(_threshold(u.grant, percent, call))
                    metrics.THRESHOLDS.labels(percent=str(percent)).inc()
        seconds += coverage.covered_seconds
    made_at = datetime.now(UTC)  # the events' occurred_at: metadata only
    for g in changed.values():
        uow.emit(BalanceChanged(g, made_at))
    metrics.SECONDS.inc(seconds)
    touched = reversing.touched
    await store.save_used([g for g in changed.values() if g.grant_id not in touched])
    if touched:
        await store.save_returned([changed[g] for g in touched])
    await reversing.finish(store)
    metrics.CALLS.inc(len(calls))
    metrics.COVERED.inc(covered)
    return len(todo), covered


def _threshold(g: Grant, percent: int, call: Call) -> AllowanceThresholdReached:
    return AllowanceThresholdReached(
        event_id=natural_event_id(f"threshold:{g.grant_id}:{percent}"),
        grant_id=g.grant_id,
        customer_id=g.customer_id,
        did=g.did,
        assignment_id=g.assignment_id,
        percent=percent,
        granted_seconds=g.granted_seconds,
        used_seconds=g.used_seconds,
        remaining_seconds=g.remaining_seconds,
        usage_id=call.usage_id,
    )
