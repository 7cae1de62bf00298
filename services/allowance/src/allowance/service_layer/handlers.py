"""Allowance handlers: grants read, a settled horizon moved, settled calls applied; each inside
the caller's unit of work (the offsets read commit with it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from allowance import metrics
from allowance.domain.events import BalanceChanged
from allowance.domain.model import Call, Grant
from allowance.domain.reversal import Reversal, Usage
from allowance.domain.rollover import roll_over
from allowance.service_layer.applying import apply_calls as apply_calls  # re-exported
from allowance.service_layer.ports import UnitOfWork
from pkgcontract import topics
from pkgcontract.messages import (
    ChargesSettled,
    FreeMinutesGranted,
    Message,
    UsageRated,
    UsageReversed,
)
from pkgshared.barrier import InputsBarrier

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Dependencies:
    """What handlers need beside the message and the unit of work (every handler is
    `handler(message, uow, deps)`)."""

    grants_read: InputsBarrier[int] | None = None  # the grants topic read to its end as of now
    usage_ends: Callable[[], Awaitable[dict[int, int]]] | None = None  # usage.rated's ends now


NONE = Dependencies()


async def add_grants(
    granted: list[FreeMinutesGranted], uow: UnitOfWork, deps: Dependencies = NONE
) -> None:
    """Grants read: each new one gets its first AllowanceBalance (expired already when the
    horizon has passed its window; such a grant expires as it is read, so it rolls over then,
    and its rollover grant's first balance follows)."""
    horizon = await uow.repository.horizon()
    grants = [
        Grant(
            grant_id=g.grant_id,
            customer_id=g.customer_id,
            did=g.did,
            assignment_id=g.assignment_id,
            destination_prefixes=tuple(g.destination_prefixes),
            valid_from=g.valid_from,
            valid_until=g.valid_until,
            granted_seconds=g.minutes * 60,
            status="expired" if horizon is not None and horizon >= g.valid_until else "active",
            notify_at_percent=tuple(sorted(g.notify_at_percent)),
            topup_id=g.topup_id,
            rollover_percent=g.rollover_percent,
            rollover_days=g.rollover_days,
        )
        for g in granted
    ]
    added = await uow.repository.add_grants(grants)
    metrics.GRANTS.inc(len(added))
    if horizon is not None:
        added = await _rolled_over(added, horizon, uow)
    made_at = datetime.now(UTC)  # the events' occurred_at: metadata only
    for g in added:
        uow.emit(BalanceChanged(g, made_at))


async def _rolled_over(grants: list[Grant], horizon: datetime, uow: UnitOfWork) -> list[Grant]:
    """`grants` as they are once those that expired carry their unused seconds (up to their
    share) into rollover grants (docs/contract.md §6 Rollover), each followed by its rollover
    grant: in the order their balances are sent. Exactly once: a grant expires once, and the
    rollover grant's id is the expired grant's."""
    due = [r for g in grants if g.status == "expired" and (r := roll_over(g, horizon))]
    if not due:
        return grants
    made = {r.expired.grant_id: r for r in await uow.repository.add_rollovers(due)}
    out: list[Grant] = []
    for g in grants:
        r = made.get(g.grant_id)
        out += [g] if r is None else [r.expired, r.carried]
    if made:
        carried = sum(r.carried.granted_seconds for r in made.values())
        metrics.ROLLOVERS.inc(len(made))
        metrics.SECONDS_ROLLED_OVER.inc(carried)
        log.info(
            "grants expired: unused seconds carried into rollover grants",
            rollovers=len(made),
            seconds=carried,
            customers=sorted({r.carried.customer_id for r in made.values()})[:20],
            grants=[str(g) for g in list(made)[:20]],
        )
        for r in made.values():
            log.debug(
                "grant rolled over",
                customer_id=r.carried.customer_id,
                grant_id=str(r.expired.grant_id),
                rollover_grant_id=str(r.carried.grant_id),
                seconds=r.carried.granted_seconds,
                valid_until=r.carried.valid_until.isoformat(),
            )
    return out


def to_apply(u: Message) -> Usage | None:
    """What a record of usage.rated gives to apply in its customer's order: a call, a
    reversal, or None (a UsageRated that is not a call, or another message)."""
    if isinstance(u, UsageReversed):
        return Reversal(u.reversal_id, u.usage_id, u.customer_id)
    return call_of(u)


def call_of(u: Message) -> Call | None:
    """The call a UsageRated is, or None when it is not one (no destination or duration, or
    another message)."""
    if not isinstance(u, UsageRated) or u.destination is None or u.duration_seconds is None:
        return None
    return Call(
        u.usage_id,
        u.customer_id,
        u.did,
        u.destination,
        u.occurred_at,
        u.duration_seconds,
        u.amount,
        u.currency,
    )


async def settle(settled: ChargesSettled, uow: UnitOfWork, deps: Dependencies) -> bool:
    """A ChargesSettled: once the grants topic is read up to its end as of now, calls before
    `at` may be applied. Grants whose window ended by `at` expire only once usage.rated has
    been read up to its end as of now and the calls `at` settles are applied
    (`expire_if_ready`: calls before expiry, docs/contract.md §6). True when it moved."""
    assert deps.grants_read is not None and deps.usage_ends is not None

    async def grants_read_to() -> dict[int, int]:
        read = await uow.read_positions((topics.FREE_MINUTES_GRANTED,))
        return {partition: offset for (_, partition), offset in read.items()}

    await deps.grants_read.check(settled.event_id, grants_read_to)
    moved = await uow.repository.advance_horizon(settled.at, settled.tick_id)
    if not moved:
        return False
    await uow.repository.await_expiry(settled.at, await deps.usage_ends())
    metrics.SETTLED_AT.set(settled.at.timestamp())
    log.info(
        "charges settled: calls before it can be applied, then grants it passed expire",
        tick_id=str(settled.tick_id),
        at=settled.at.isoformat(),
    )
    return True


async def expire_if_ready(
    ready: dict[int, datetime], uow: UnitOfWork, deps: Dependencies = NONE
) -> bool:
    """Note the partitions of usage.rated this instance has read to the end its pending
    expiry waits for, with every call that moment settles applied (`ready`, by partition);
    when every partition is, expire the grants whose window that moment passed. True when
    grants were expired now."""
    store = uow.repository
    if ready:
        await store.mark_ready(ready)
    pending = await store.expiry(lock=True)
    if pending is None:
        return False
    at, ends = pending
    marks = await store.ready_for(sorted(ends))
    if any(p not in marks or marks[p] < at for p in ends):
        return False
    await store.hold_partitions(sorted(ends))  # every partition: no call applied meanwhile
    expired = await store.expire(at)
    metrics.EXPIRED.inc(len(expired))
    expired = await _rolled_over(expired, at, uow)
    await store.expired_now()
    made_at = datetime.now(UTC)
    for g in expired:
        uow.emit(BalanceChanged(g, made_at))
    log.info("grants expired", at=at.isoformat(), grants_expired=len(expired))
    return True


@dataclass(frozen=True)
class Applied:
    """What one transaction of the calls checkpoint did."""

    calls: int = 0  # calls applied (covered or not) and reversals
    covered: int = 0
    parked: int = 0  # calls that went to the parked table
    customers_parked: frozenset[str] = frozenset()  # customers with calls parked after it
    customers_back: frozenset[str] = frozenset()  # customers with none parked any more
    more_parked: bool = False  # the cap cut the parked calls applied, or their customers


@dataclass(frozen=True)
class CallsToApply:
    """What one transaction of the calls checkpoint hands over: the `settled` calls held in
    memory (customers not parked), the calls of parked customers held in memory (`parking`),
    where each customer's calls are read from (`partitions`), the partitions this instance
    holds (`held`, locked by the caller) and whether to look at the parked calls the charger
    has settled since (`look_at_parked`, at most `most`)."""

    horizon: datetime
    settled: list[Usage]  # calls, and reversals in their customers' order
    parking: list[Usage]
    partitions: dict[str, int]
    held: list[int]
    look_at_parked: bool = False
    most: int = 10_000


async def apply_waiting(batch: CallsToApply, uow: UnitOfWork, deps: Dependencies = NONE) -> Applied:
    """One transaction of applying (the caller holds the partitions `batch.held`: their
    customers are this instance's): the settled calls held in memory, the calls of parked
    customers held in memory (they go to the parked table, after their customers' calls
    parked before), and the parked calls of those partitions the charger has settled since.
    Calls of one customer keep their order: a customer parked before a rebalance has its calls
    parked here too, and a customer comes back from the table only when none of its calls is
    left there."""
    store = uow.repository
    horizon, settled, parking, most = batch.horizon, batch.settled, batch.parking, batch.most
    settling = (
        await store.parked_settling(horizon, most, batch.held) if batch.look_at_parked else []
    )
    in_memory = sorted({c.customer_id for c in settled})
    if not (settled or parking or settling):
        return Applied()
    elsewhere = await store.parked_among(in_memory)  # parked before a rebalance
    if elsewhere:
        parking = parking + [c for c in settled if c.customer_id in elsewhere]
        settled = [c for c in settled if c.customer_id not in elsewhere]
    await store.park(parking, batch.partitions)
    queued = sorted({c.customer_id for c in parking} | set(settling))
    due = await store.parked_settled(queued, horizon, most)
    applied, covered = await apply_calls([c for _, c in due] + settled, uow)
    await store.unpark([seq for seq, _ in due])
    still = await store.parked_among(queued)
    if parking:
        metrics.PARKED.inc(len(parking))
        log.warning(
            "calls parked: their customer has a call far past the settled moment",
            calls=len(parking),
            customers=sorted({c.customer_id for c in parking})[:20],
            settled_at=horizon.isoformat(),
        )
    if due:
        log.info("parked calls applied", calls=len(due), customers_back=len(queued) - len(still))
    return Applied(
        applied,
        covered,
        len(parking),
        frozenset(still),
        frozenset(queued) - still,
        len(due) == most or len(settling) == most,
    )
