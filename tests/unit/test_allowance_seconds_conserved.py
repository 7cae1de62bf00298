"""A property of rollover and reversal (docs/contract.md §6), over random sequences of calls,
reversals and settles applied by the allowance's handlers with in-memory fakes: seconds are
conserved (per grant: granted = used + remaining + rolled over, used net of what came back;
per reversed call: what it used = returned + lost), a grant rolls over at most once and a
call is reversed at most once; a threshold is sent at most once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from allowance.domain.model import Call
from allowance.domain.reversal import Reversal, Usage
from allowance.service_layer import handlers
from pkgcontract.messages import ChargesSettled, FreeMinutesGranted
from tests.unit.fakes.allowance import FakeUnitOfWork

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class _Open:
    async def check(self, _id: object, _positions: object) -> None:
        pass


async def _no_usage() -> dict[int, int]:
    return {}


def _grants(percents: list[int]) -> list[FreeMinutesGranted]:
    """Three monthly periods of one customer (rollover shares as drawn) and a top-up."""
    out = [
        FreeMinutesGranted(
            grant_id=uuid.uuid4(),
            customer_id="c",
            did=None,
            assignment_id=uuid.uuid4(),
            package_id="p",
            minutes=60,
            destination_prefixes=["44"],
            valid_from=T0 + timedelta(days=30 * n),
            valid_until=T0 + timedelta(days=30 * (n + 1)),
            notify_at_percent=[50, 80, 100],
            rollover_percent=p,
            rollover_days=20 if p else None,
        )
        for n, p in enumerate(percents)
    ]
    out.append(
        FreeMinutesGranted(
            grant_id=uuid.uuid4(),
            customer_id="c",
            did=None,
            assignment_id=None,
            package_id=None,
            minutes=30,
            destination_prefixes=[],
            valid_from=T0,
            valid_until=T0 + timedelta(days=75),
            topup_id=uuid.uuid4(),
        )
    )
    return out


_call = st.tuples(
    st.just("call"), st.integers(0, 110), st.integers(1, 3000), st.sampled_from(["44", "33"])
)
_reverse = st.tuples(st.just("reverse"), st.integers(0, 40), st.booleans())
_batch = st.tuples(st.just("batch"), st.lists(st.one_of(_call, _reverse), min_size=1, max_size=6))
_settle = st.tuples(st.just("settle"), st.integers(1, 40))


@settings(max_examples=150, deadline=None)
@given(
    percents=st.lists(st.sampled_from([0, 10, 50, 100]), min_size=3, max_size=3),
    steps=st.lists(st.one_of(_batch, _settle), max_size=14),
    read_late=st.booleans(),
)
def test_seconds_are_conserved_and_rollover_and_reversal_happen_once(
    percents: list[int], steps: list[Any], read_late: bool
) -> None:
    asyncio.run(_play(percents, steps, read_late))


async def _play(percents: list[int], steps: list[Any], read_late: bool) -> None:
    uow = FakeUnitOfWork()
    deps = handlers.Dependencies(grants_read=_Open(), usage_ends=_no_usage)  # type: ignore[arg-type]
    grants = _grants(percents)
    horizon = T0
    if read_late:  # a catch-up: the grants are read after a settle that passed some windows
        horizon = T0 + timedelta(days=45)
        await handlers.settle(ChargesSettled(tick_id=uuid.uuid4(), at=horizon), uow, deps)
        await handlers.expire_if_ready({}, uow)
    await handlers.add_grants(grants, uow)
    calls: list[Call] = []
    for step in steps:
        if step[0] == "settle":
            horizon += timedelta(days=step[1])
            await handlers.settle(ChargesSettled(tick_id=uuid.uuid4(), at=horizon), uow, deps)
            await handlers.expire_if_ready({}, uow)
            continue
        items: list[Usage] = []
        for op in step[1]:
            if op[0] == "call":
                _, day, seconds, prefix = op
                c = Call(
                    uuid.uuid4(),
                    "c",
                    None,
                    prefix + "20",
                    T0 + timedelta(days=day, hours=1),
                    seconds,
                    Decimal("0.001") * seconds,
                    "GBP",
                )
                calls.append(c)
                items.append(c)
            else:
                _, which, known = op
                target = calls[which % len(calls)].usage_id if known and calls else uuid.uuid4()
                items.append(Reversal(uuid.uuid4(), target, "c"))
        await handlers.apply_calls(items, uow)
        _check(uow)
    _check(uow)


def _check(uow: FakeUnitOfWork) -> None:
    grants = uow.repository.grants
    used: Counter[str] = Counter()  # by grant: seconds calls used of it
    uses: dict[str, Counter[str]] = defaultdict(Counter)  # by call: seconds it used per grant
    for u in uow.events("FreeMinutesUsed"):
        for g in u["grants"]:
            used[g["grant_id"]] += g["seconds"]
            uses[u["usage_id"]][g["grant_id"]] += g["seconds"]
    back: Counter[str] = Counter()
    returns = Counter(r["usage_id"] for r in uow.events("FreeMinutesReturned"))
    assert all(n == 1 for n in returns.values())  # a call is reversed at most once
    for r in uow.events("FreeMinutesReturned"):
        got = {g["grant_id"]: g["seconds_returned"] + g["seconds_lost"] for g in r["grants"]}
        assert got == uses[r["usage_id"]]  # what it used = returned + lost, grant by grant
        for g in r["grants"]:
            back[g["grant_id"]] += g["seconds_returned"]
    origins = Counter(g.rolled_over_from for g in grants.values() if g.rolled_over_from)
    assert all(n == 1 for n in origins.values())  # a grant rolls over at most once
    for g in grants.values():
        gid = str(g.grant_id)
        assert g.granted_seconds == g.used_seconds + g.remaining_seconds + g.rolled_over_seconds
        assert g.used_seconds >= 0 and g.remaining_seconds >= 0
        assert g.used_seconds == used[gid] - back[gid]  # net of what came back
        assert g.returned_seconds == back[gid]
        if g.rolled_over_from is not None:
            source = grants[g.rolled_over_from]
            assert source.rolled_over_seconds == g.granted_seconds > 0
            assert g.granted_seconds <= source.granted_seconds * source.rollover_percent // 100
            assert g.rollover_percent == 0 and g.notify_at_percent == ()
            assert g.grant_id not in origins  # a rollover grant never rolls over
        elif g.rolled_over_seconds:
            assert origins[g.grant_id] == 1 and g.status == "expired"
        latest = [b for b in uow.events("AllowanceBalance") if b["grant_id"] == gid][-1]
        assert (latest["used_seconds"], latest["remaining_seconds"], latest["status"]) == (
            g.used_seconds,
            g.remaining_seconds,
            g.status,
        )
        assert latest["rolled_over_seconds"] == g.rolled_over_seconds
    alerts = Counter((t["grant_id"], t["percent"]) for t in uow.events("AllowanceThresholdReached"))
    assert all(n == 1 for n in alerts.values())  # each percent of a grant sent once
