"""AllowanceBalance's event_id (docs/contract.md §6: `balance:<grant_id>:<used_seconds>:<status>`,
or `…:r<returned_seconds>:<status>` once reversals returned seconds) names one state of a grant:
through calls, reversals (used going down, then up again), late calls, expiry and rollover, two
balances with the same event_id carry the same fields. The key has no `rolled_over_seconds`:
it changes only with the status, in the balance that says `expired`."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from allowance.domain.model import Call
from allowance.domain.reversal import Reversal
from allowance.service_layer import handlers
from tests.unit.fakes.allowance import FakeUnitOfWork
from tests.unit.test_allowance_rollover_reversal import (
    FEB15,
    JAN15,
    MAR15,
    balances,
    call,
    granted,
    reversal,
    settle,
)

STATE = (
    "grant_id",
    "used_seconds",
    "remaining_seconds",
    "returned_seconds",
    "rolled_over_seconds",
    "status",
)


async def test_a_balance_event_id_never_names_two_states() -> None:
    for seed in range(40):
        rng = random.Random(seed)
        uow = FakeUnitOfWork()
        jan = granted(JAN15, FEB15, minutes=10, percent=rng.choice([0, 50, 100]))
        feb = granted(FEB15, MAR15, minutes=10, percent=0)
        await handlers.add_grants([jan, feb], uow)
        covered: list[Call] = []
        expired = False
        for _ in range(12):
            roll = rng.random()
            if roll < 0.45:
                start = FEB15 if expired and rng.random() < 0.5 else JAN15
                c = call(start + timedelta(hours=rng.randrange(24)), rng.choice([30, 60, 200]))
                covered.append(c)
                items: list[Call | Reversal] = [c]
            elif roll < 0.85 and covered:
                items = [reversal(covered.pop(rng.randrange(len(covered))))]
            elif not expired:
                await settle(uow, FEB15 + timedelta(days=1))
                expired = True
                continue
            else:
                items = [call(JAN15 + timedelta(days=3), 45)]  # a late call in January
            await handlers.apply_calls(items, uow)
        seen: dict[str, tuple[Any, ...]] = {}
        for b in balances(uow):
            state = tuple(b[k] for k in STATE)
            assert seen.setdefault(b["event_id"], state) == state, (seed, b)
