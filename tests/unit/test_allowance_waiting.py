"""The calls waiting in memory (allowance.domain.waiting): which are settled (each customer's
in order, stopping at its first call not settled), where a partition is read again from, and
records delivered twice. Plain values, with a hypothesis test against a plain restatement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from allowance.domain.model import Call
from allowance.domain.waiting import WaitingCalls

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _call(customer: str, minute: int) -> Call:
    return Call(
        uuid.uuid4(), customer, None, "44", T0 + timedelta(minutes=minute), 60, Decimal(1), "GBP"
    )


def test_a_customer_waits_behind_its_first_call_not_settled() -> None:
    w = WaitingCalls()
    w.start(0, 100)
    w.add(0, 100, _call("a", 1))
    w.add(0, 101, _call("a", 9))  # not settled: a's later calls wait behind it
    w.add(0, 102, None)  # not a call
    w.add(0, 103, _call("a", 2))
    w.add(0, 104, _call("b", 3))
    chosen = w.settled(T0 + timedelta(minutes=5), 100, 100)
    assert [(x.offset, x.call.customer_id) for x in chosen] == [(100, "a"), (104, "b")]
    assert w.resume_offsets(chosen) == {0: 101}
    w.remove(chosen)
    assert (w.count, w.of_customer("a"), w.of_customer("b")) == (2, 2, 0)
    assert w.resume_offsets() == {0: 101}


def test_a_partition_with_nothing_waiting_resumes_after_its_last_record() -> None:
    w = WaitingCalls()
    w.start(3, 7)
    w.add(3, 7, None)
    w.add(3, 8, None)
    assert w.resume_offsets() == {3: 9}


def test_records_seen_before_and_partitions_not_held_change_nothing() -> None:
    w = WaitingCalls()
    w.start(0, 10)
    assert w.add(0, 10, _call("a", 1))
    assert not w.add(0, 10, _call("a", 1))  # the poll delivered again
    assert not w.add(0, 5, _call("a", 1))  # before where this partition is read from
    assert not w.add(1, 0, _call("a", 1))  # not this instance's partition
    assert w.count == 1


def test_a_revoked_partition_forgets_its_calls_and_a_restart_reads_them_again() -> None:
    w = WaitingCalls()
    w.start(0, 0)
    w.add(0, 0, _call("a", 1))
    w.drop([0])
    assert (w.count, w.of_customer("a"), 0 in w.partitions()) == (0, 0, False)
    w.start(0, 0)
    assert w.add(0, 0, _call("a", 1))


def test_a_settled_call_read_after_the_horizon_is_known_marks_ready() -> None:
    w = WaitingCalls()
    w.start(0, 0)
    w.horizon = T0 + timedelta(minutes=5)
    w.add(0, 0, _call("a", 9))
    assert not w.ready
    w.add(0, 1, _call("b", 1))
    assert w.ready


records = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from("abcd"), st.integers(0, 20) | st.none()),
    max_size=60,
)


@given(records, st.integers(0, 20), st.integers(1, 10), st.integers(1, 4))
def test_settled_keeps_each_customers_order_and_the_caps(
    read: list[tuple[int, str, int | None]], horizon: int, most: int, per_customer: int
) -> None:
    w = WaitingCalls()
    next_offset = {p: 0 for p in range(3)}
    for p in range(3):
        w.start(p, 0)
    placed = []
    for p, customer, minute in read:
        call = None if minute is None else _call(customer, minute)
        w.add(p, next_offset[p], call)
        if call is not None:
            placed.append((p, next_offset[p], call))
        next_offset[p] += 1
    at = T0 + timedelta(minutes=horizon)
    chosen = w.settled(at, most, per_customer)
    # Restated plainly: by partition then offset; a customer stops at its first call not
    # settled or past its cap; all stops at `most`.
    want = []
    stopped: set[str] = set()
    taken: dict[str, int] = {}
    for p, offset, call in sorted(placed, key=lambda x: (x[0], x[1])):
        c = call.customer_id
        if c in stopped:
            continue
        if call.occurred_at >= at or taken.get(c, 0) == per_customer:
            stopped.add(c)
            continue
        taken[c] = taken.get(c, 0) + 1
        want.append((p, offset))
        if len(want) == most:
            break
    assert [(x.partition, x.offset) for x in chosen] == want
    resume = w.resume_offsets(chosen)
    gone = set(want)
    for p in range(3):
        left = [o for q, o, _ in placed if q == p and (q, o) not in gone]
        assert resume[p] == (min(left) if left else next_offset[p])
