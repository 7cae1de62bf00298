"""The allowance rules (docs/contract.md §6) against a second-by-second reference (property-based):
random grants (prefixes, DIDs, windows, other customers'), random calls in order; plus the
contract's worked example."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from allowance.domain.model import Call, Grant, cover, credit

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def reference_cover(call: Call, grants: dict[uuid.UUID, list[int]], meta: list[Grant]) -> list:
    """One second at a time: each second goes to the best grant that can still cover it.
    `grants` maps grant_id to [used seconds]; returns [(grant_id, seconds)] merged in order."""
    out: list[list] = []
    for _ in range(call.duration_seconds):
        best = None
        for g in meta:
            used = grants[g.grant_id][0]
            if g.customer_id != call.customer_id or used >= g.granted_seconds:
                continue
            if g.did is not None and g.did != call.did:
                continue
            if not (g.valid_from <= call.occurred_at < g.valid_until):
                continue
            lengths = [len(p) for p in g.destination_prefixes if call.destination.startswith(p)]
            if g.destination_prefixes and not lengths:
                continue
            key = (
                -(max(lengths) if lengths else 0),
                0 if g.did else 1,
                g.valid_until,
                str(g.grant_id),
            )
            if best is None or key < best[0]:
                best = (key, g)
        if best is None:
            break
        grants[best[1].grant_id][0] += 1
        if out and out[-1][0] == best[1].grant_id:
            out[-1][1] += 1
        else:
            out.append([best[1].grant_id, 1])
    return [tuple(x) for x in out]


def reference_credit(amount: Decimal, covered: int, duration: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return (amount * covered / duration).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)


prefix_lists = st.lists(st.sampled_from(["4", "44", "441", "4420", "9", "91", ""]), max_size=3).map(
    lambda ps: tuple(sorted({p for p in ps if p}))
)
grants_st = st.lists(
    st.tuples(
        st.sampled_from(["c", "c", "c", "other"]),
        st.sampled_from([None, None, "441111", "442222"]),
        prefix_lists,
        st.integers(0, 40),  # valid_from, days after BASE
        st.integers(1, 40),  # window, days
        st.integers(1, 300),  # minutes
    ),
    min_size=0,
    max_size=8,
)
calls_st = st.lists(
    st.tuples(
        st.sampled_from([None, "441111", "442222"]),
        st.sampled_from(["441234567", "442079999999", "919812345678", "4", "12125550000"]),
        st.integers(0, 80 * 24 * 3600),  # occurred, seconds after BASE
        st.integers(0, 6000),  # duration
        st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(grant_rows=grants_st, call_rows=calls_st)
def test_cover_matches_the_second_by_second_reference(grant_rows: list, call_rows: list) -> None:
    grants = [
        Grant(
            grant_id=uuid.UUID(int=n + 1),
            customer_id=customer,
            did=did,
            assignment_id=uuid.UUID(int=1000 + n),
            destination_prefixes=prefixes,
            valid_from=BASE + timedelta(days=start),
            valid_until=BASE + timedelta(days=start + days),
            granted_seconds=minutes * 60,
        )
        for n, (customer, did, prefixes, start, days, minutes) in enumerate(grant_rows)
    ]
    ref_used = {g.grant_id: [0] for g in grants}
    state = list(grants)
    granted_total = sum(g.granted_seconds for g in grants if g.customer_id == "c")
    covered_total = 0
    for n, (did, destination, offset, duration, amount) in enumerate(call_rows):
        call = Call(
            uuid.UUID(int=10_000 + n),
            "c",
            did,
            destination,
            BASE + timedelta(seconds=offset),
            duration,
            amount,
            "GBP",
        )
        got = cover(call, [g for g in state if g.customer_id == "c"])
        expected = reference_cover(call, ref_used, grants)
        assert [(u.grant.grant_id, u.seconds) for u in got.uses] == expected
        for u in got.uses:
            assert u.grant.remaining_seconds >= 0 and u.seconds > 0
            assert (
                u.grant.remaining_seconds == u.grant.granted_seconds - ref_used[u.grant.grant_id][0]
            )
            assert u.grant.customer_id == "c"
        assert got.covered_seconds <= duration
        if got.covered_seconds:
            assert got.credit == reference_credit(amount, got.covered_seconds, duration)
        now = {u.grant.grant_id: u.grant for u in got.uses}
        state = [now.get(g.grant_id, g) for g in state]
        covered_total += got.covered_seconds
    assert covered_total <= granted_total
    assert all(0 <= g.used_seconds <= g.granted_seconds for g in state)


@given(
    amount=st.one_of(
        st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False),
        st.decimals(min_value=-(10**6), max_value=10**6, places=9, allow_nan=False),
        st.integers(0, 10**6).map(lambda n: Decimal(n).scaleb(3)),  # 1E+3-style exponents
    ),
    duration=st.integers(1, 10**6),
    data=st.data(),
)
def test_credit_is_exact_half_even(amount: Decimal, duration: int, data: st.DataObject) -> None:
    covered = data.draw(st.integers(0, duration))
    assert credit(amount, covered, duration) == reference_credit(amount, covered, duration)


def test_the_contracts_worked_example() -> None:
    """§6: the January grant (12,000 s, prefix 44, to 2026-02-15) covers the first call
    (300 s, 0.6 GBP back), not the call to 91, and 11,700 s of the third (23.4 GBP back)."""
    grant = Grant(
        grant_id=uuid.uuid4(),
        customer_id="uk",
        did=None,
        assignment_id=uuid.uuid4(),
        destination_prefixes=("44",),
        valid_from=datetime(2026, 1, 15, tzinfo=UTC),
        valid_until=datetime(2026, 2, 15, tzinfo=UTC),
        granted_seconds=12_000,
    )
    calls = [
        ("442071234567", datetime(2026, 1, 20, 10, tzinfo=UTC), 300, "0.600000"),
        ("919812345678", datetime(2026, 1, 20, 11, tzinfo=UTC), 120, "0.500000"),
        ("442079999999", datetime(2026, 2, 14, 9, tzinfo=UTC), 12_000, "24.000000"),
    ]
    grants = [grant]
    results = []
    for n, (destination, at, seconds, amount) in enumerate(calls):
        c = Call(uuid.UUID(int=n), "uk", None, destination, at, seconds, Decimal(amount), "GBP")
        got = cover(c, grants)
        if got.uses:
            grants = [got.uses[-1].grant]
        results.append(
            (got.covered_seconds, got.credit, [u.grant.remaining_seconds for u in got.uses])
        )
    assert results == [
        (300, Decimal("0.600000"), [11_700]),
        (0, Decimal("0.000000"), []),
        (11_700, Decimal("23.400000"), [0]),
    ]
    assert grants[0].used_seconds == 12_000


@given(
    st.integers(0, 10**6), st.sampled_from(["active", "expired"]), st.none() | st.text(max_size=5)
)
def test_grant_now_is_dataclasses_replace(used: int, status: str, did: str | None) -> None:
    g = Grant(
        uuid.uuid4(), "c", did, uuid.uuid4(), ("44",), BASE, BASE + timedelta(days=1), 10**6, 7
    )
    made = g.now(used, status)
    assert made == dataclasses.replace(g, used_seconds=used, status=status)
    assert (made.used_seconds, made.status, g.used_seconds) == (used, status, 7)
    assert made.__dict__ == dataclasses.replace(g, used_seconds=used, status=status).__dict__
