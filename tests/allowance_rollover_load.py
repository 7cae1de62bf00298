"""A workload for the allowance service alone with rollover and reversals: grants (some rolling
over), calls and UsageReversed written to its input topics in two phases around a first
ChargesSettled, and what docs/contract.md §6 makes of them, predicted by the independent
reference (tests/allowance_reference.py). tests/allowance_rollover_check.py holds the service's
output to it.

Phase `before`: calls of January and February and reversals, all waiting for the first
ChargesSettled (SETTLED_AT), which applies them and then expires every grant (they all end by
then), carrying the rollover share into rollover grants that outlive it. Phase `after` is
written once that expiry is seen (`at_settled`): late calls inside the expired windows (they
use what is left after the carry), calls in March and April (they wait for the last
ChargesSettled, with March grants and the rollover grants to use), reversals (seconds back to
active grants, lost on expired ones), repeats of reversals, reversals of calls never read or
not covered, and reversals read before their call. A few customers (`far`) have a call dated a
year ahead that parks their later calls until the last ChargesSettled; they have no rollover
and no reversals, so what they get does not depend on when the service expires their grants.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pkgcontract import topics
from pkgtools.testing.system import command
from tests.allowance_load import FAR_AHEAD, SETTLED_AT
from tests.allowance_reference import Allowance, Call, Grant, Reversal

LAST_SETTLED_AT = FAR_AHEAD + timedelta(days=60)
JANUARY = datetime(2026, 1, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)

Message = tuple[str, str, dict[str, Any]]


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@dataclass
class RolloverWorkload:
    grants: list[Message] = field(default_factory=list)
    before: list[Message] = field(default_factory=list)
    after: list[Message] = field(default_factory=list)
    far_calls: int = 0
    reversals: int = 0
    # grant_id -> the event id of its balance once the first ChargesSettled's expiry is done
    # (every non-far customer's grant, and every rollover grant it made)
    at_settled: dict[str, str] = field(default_factory=dict)
    model: Allowance = field(default_factory=Allowance)


def _grant_message(g: Grant) -> Message:
    return (
        topics.FREE_MINUTES_GRANTED,
        g.customer_id,
        command(
            "FreeMinutesGranted",
            event_id=g.grant_id,
            grant_id=g.grant_id,
            customer_id=g.customer_id,
            did=g.did,
            assignment_id=g.assignment_id,
            package_id="pkg",
            minutes=g.granted // 60,
            destination_prefixes=list(g.prefixes),
            valid_from=_instant(g.valid_from),
            valid_until=_instant(g.valid_until),
            notify_at_percent=list(g.notify),
            rollover_percent=g.rollover_percent,
            rollover_days=g.rollover_days,
        ),
    )


def _call_message(c: Call) -> Message:
    return (
        topics.USAGE_RATED,
        c.customer_id,
        command(
            "UsageRated",
            event_id=c.usage_id,
            usage_id=c.usage_id,
            customer_id=c.customer_id,
            did=c.did,
            amount=str(c.amount),
            currency=c.currency,
            occurred_at=_instant(c.occurred_at),
            destination=c.destination,
            duration_seconds=c.duration_seconds,
        ),
    )


def _reversal_message(r: Reversal) -> Message:
    body = command(
        "UsageReversed", reversal_id=r.reversal_id, usage_id=r.usage_id, customer_id=r.customer_id
    )
    return (topics.USAGE_RATED, r.customer_id, body)


def _grants(rng: random.Random, n: int, far: bool) -> list[Grant]:
    customer, out = f"cust-{n:03d}", []
    for _ in range(rng.randint(1, 3)):
        start = JANUARY + timedelta(days=rng.randint(0, 30))
        percent = 0 if far else rng.choice([0, 0, 25, 50, 100])
        out.append(
            Grant(
                grant_id=str(uuid.uuid4()),
                customer_id=customer,
                did=rng.choice([None, None, f"44{n:08d}"]),
                assignment_id=str(uuid.uuid4()),
                prefixes=rng.choice([(), ("44",), ("4420", "91")]),
                valid_from=start,
                valid_until=start + timedelta(days=rng.choice([10, 28])),  # by SETTLED_AT
                granted=rng.randint(1, 300) * 60,
                notify=tuple(sorted(rng.sample(range(1, 101), rng.randint(0, 3)))),
                rollover_percent=percent,
                rollover_days=rng.choice([50, 60, 90]) if percent else None,  # past SETTLED_AT
            )
        )
    if not far and rng.random() < 0.5:  # a March grant: ends after SETTLED_AT, no rollover
        out.append(
            Grant(
                grant_id=str(uuid.uuid4()),
                customer_id=customer,
                did=None,
                assignment_id=str(uuid.uuid4()),
                prefixes=rng.choice([(), ("44",)]),
                valid_from=MARCH,
                valid_until=MARCH + timedelta(days=rng.choice([20, 45])),
                granted=rng.randint(1, 300) * 60,
                notify=tuple(sorted(rng.sample(range(1, 101), rng.randint(0, 2)))),
            )
        )
    return out


def _call(rng: random.Random, n: int, start: datetime, days: int) -> Call:
    return Call(
        usage_id=str(uuid.uuid4()),
        customer_id=f"cust-{n:03d}",
        did=rng.choice([None, f"44{n:08d}"]),
        destination=rng.choice(["442071234567", "919812345678", "4420", "12125550000"]),
        occurred_at=start + timedelta(seconds=rng.randint(0, days * 86400 - 1)),
        duration_seconds=rng.randint(0, 900),
        amount=Decimal(rng.randint(0, 5_000_000)).scaleb(-6),
    )


def rollover_workload(
    seed: int, customers: int = 40, calls: int = 4000, far: int = 6, reversed_share: float = 0.1
) -> RolloverWorkload:
    rng = random.Random(seed)
    w = RolloverWorkload(far_calls=far)
    far_customers = set(range(min(3, customers))) if far else set()
    for n in range(customers):
        for g in _grants(rng, n, n in far_customers):
            w.model.grant(g)
            w.grants.append(_grant_message(g))
    # (position, message): a call at its index, its reversal somewhere after it; the first
    # third of the positions are written before the first ChargesSettled.
    placed: list[tuple[float, Call | Reversal]] = []
    far_at = set(rng.sample(range(calls), far))
    boundary = calls / 3
    for i in range(calls):
        if i in far_at:
            call = _call(rng, rng.choice(sorted(far_customers)), FAR_AHEAD, 58)
        else:
            n = rng.randrange(customers)
            late = i >= boundary and n not in far_customers and rng.random() < 0.5
            call = _call(rng, n, MARCH, 60) if late else _call(rng, n, JANUARY, 58)
        placed.append((i, call))
        if call.customer_id in {f"cust-{f:03d}" for f in far_customers}:
            continue
        roll = rng.random()
        if roll < reversed_share:
            reversal = Reversal(str(uuid.uuid4()), call.usage_id, call.customer_id)
            at = rng.uniform(i, calls)
            placed.append((at, reversal))
            w.reversals += 1
            if rng.random() < 0.1:  # the same reversal again, or another of the same call
                again = rng.choice([reversal, Reversal(str(uuid.uuid4()), *_of(reversal))])
                placed.append((rng.uniform(at, calls), again))
        elif roll < reversed_share + 0.005:  # read before its call: changes nothing
            placed.append((max(0.0, i - rng.uniform(0, 30)), _reversal_of(call)))
        elif roll < reversed_share + 0.01:  # of a call never read
            placed.append((rng.uniform(i, calls), _reversal_of(call, str(uuid.uuid4()))))
    placed.sort(key=lambda p: p[0])
    sent: dict[str, Message] = {}  # a repeated reversal is the same message, event_id and all
    for position, message in placed:
        phase = w.before if position < boundary else w.after
        if isinstance(message, Call):
            phase.append(_call_message(message))
        else:
            phase.append(sent.setdefault(message.reversal_id, _reversal_message(message)))
    _predict(w, placed, boundary, far_customers)
    return w


def _of(r: Reversal) -> tuple[str, str]:
    return (r.usage_id, r.customer_id)


def _reversal_of(call: Call, usage_id: str | None = None) -> Reversal:
    return Reversal(str(uuid.uuid4()), usage_id or call.usage_id, call.customer_id)


def _predict(
    w: RolloverWorkload,
    placed: list[tuple[float, Call | Reversal]],
    boundary: float,
    far_customers: set[int],
) -> None:
    m = w.model
    for position, message in placed:
        if position < boundary:
            m.read(message)
    m.settle(SETTLED_AT)
    far = {f"cust-{f:03d}" for f in far_customers}
    w.at_settled = {
        g.grant_id: g.balance()["event_id"] for g in m.grants.values() if g.customer_id not in far
    }
    for position, message in placed:
        if position >= boundary:
            m.read(message)
    m.settle(LAST_SETTLED_AT)
