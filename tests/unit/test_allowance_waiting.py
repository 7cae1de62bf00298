"""The calls waiting in memory (allowance.adapters.waiting): which are settled (each customer's
in order, stopping at its first call not settled), where a partition is read again from, and
records delivered twice. Plain values, with a hypothesis test against a plain restatement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from allowance.adapters.waiting import WaitingCalls
from allowance.domain.model import Call

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
    w.set_horizon(T0 + timedelta(minutes=5))
    w.add(0, 0, _call("a", 9))
    assert not w.ready
    w.add(0, 1, _call("b", 1))
    assert w.ready


def test_a_call_far_past_the_settled_moment_parks_its_customers_calls() -> None:
    w = WaitingCalls(park_ahead=timedelta(days=1))
    w.start(0, 0)
    w.set_horizon(T0)
    w.add(0, 0, _call("a", -5))  # settled
    w.add(0, 1, _call("b", -4))
    w.add(0, 2, _call("a", 60 * 24 * 400))  # a clock set wrong: a year ahead
    w.add(0, 3, _call("a", -3))  # settled, but behind a's call a year ahead
    w.add(0, 4, _call("b", 60 * 23))  # ahead, not far: waits here
    assert w.parked == {"a"} and w.park_due
    chosen = w.settled(T0, 100, 100)
    assert [x.offset for x in chosen] == [1]  # a's calls are not applied from memory
    parking = w.parking(100)
    assert [x.offset for x in parking] == [0, 2, 3]  # all of a's, in the order read
    assert not w.park_due
    assert w.resume_offsets(chosen + parking) == {0: 4}  # b's call ahead holds it, not a's
    w.remove(chosen + parking)
    w.add(0, 5, _call("a", -2))  # a's next calls follow the parked ones
    assert w.park_due and [x.offset for x in w.parking(100)] == [5]
    assert w.settled(T0, 100, 100) == []


def test_calls_read_before_any_settled_moment_are_looked_at_once_it_is_known() -> None:
    w = WaitingCalls(park_ahead=timedelta(days=1))
    w.start(0, 0)
    w.add(0, 0, _call("a", 60 * 24 * 3))
    w.add(0, 1, _call("b", 10))
    assert not w.parked
    w.set_horizon(T0)
    assert w.parked == {"a"} and [x.offset for x in w.parking(10)] == [0]


def test_a_customer_comes_back_unless_a_far_call_was_read_since() -> None:
    w = WaitingCalls(park_ahead=timedelta(days=1))
    w.start(0, 0)
    w.set_horizon(T0)
    w.add(0, 0, _call("a", 60 * 24 * 2))
    w.add(0, 1, _call("b", 60 * 24 * 2))
    reads = w.reads  # what the applier chose from
    w.remove(w.parking(10))
    w.add(0, 2, _call("b", 60 * 24 * 5))  # read while the applier's transaction ran
    w.parked_after([], ["a", "b"], reads)
    assert w.parked == {"b"}
    w.add(0, 3, _call("a", 1))
    assert [x.offset for x in w.settled(T0 + timedelta(hours=1), 10, 10)] == [3]


def test_a_call_that_stays_first_through_ten_settled_moments_is_parked() -> None:
    """A clock some hours ahead: not a day, but the call holds its partition's resume point
    tick after tick while the calls around it are applied."""
    w = WaitingCalls(park_ahead=timedelta(days=1), park_after_settles=10)
    w.start(0, 0)
    w.set_horizon(T0)
    w.add(0, 0, _call("a", 60 * 10))  # ten hours ahead
    w.add(0, 1, _call("a", 1))  # behind it
    assert w.parking(100) == []  # the worker looks at every transaction
    for minute in range(1, 10):
        w.set_horizon(T0 + timedelta(minutes=minute))
        w.add(0, 1 + minute, _call("b", minute - 1))
        w.remove(w.settled(w.horizon, 100, 100))  # b's call applied, a's waits
        assert w.parking(100) == [] and w.resume_offsets() == {0: 0}
    w.set_horizon(T0 + timedelta(minutes=10))  # the tenth move with a's call first
    assert [x.offset for x in w.parking(100)] == [0, 1] and w.parked == {"a"}


def test_a_settled_call_first_in_a_backlog_is_not_parked() -> None:
    w = WaitingCalls(park_ahead=timedelta(days=1), park_after_settles=2)
    w.start(0, 0)
    w.set_horizon(T0)
    w.add(0, 0, _call("a", -5))  # settled, not applied yet (other partitions first)
    w.parking(10)
    for minute in range(1, 5):
        w.set_horizon(T0 + timedelta(minutes=minute))
        assert w.parking(10) == []
    assert not w.parked


def test_the_settled_moment_not_moving_parks_nothing() -> None:
    w = WaitingCalls(park_ahead=timedelta(days=1), park_after_settles=2)
    w.start(0, 0)
    w.set_horizon(T0)
    w.add(0, 0, _call("a", 60))
    for _ in range(5):
        w.set_horizon(T0)  # read again, not moved (the charger stopped)
        assert w.parking(10) == []
    assert not w.parked


def test_the_end_of_the_calendar_parks_nothing_and_raises_nothing() -> None:
    w = WaitingCalls(park_ahead=timedelta(days=1))
    w.start(0, 0)
    end = datetime(9999, 12, 31, 12, tzinfo=UTC)
    w.set_horizon(end)
    w.add(0, 0, Call(uuid.uuid4(), "a", None, "44", end, 60, Decimal(1), "GBP"))
    assert not w.parked and w.settled(end, 10, 10) == []


records = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from("abcd"), st.integers(0, 20) | st.none()),
    max_size=60,
)


def _read_into(
    w: WaitingCalls, read: list[tuple[int, str, int | None]]
) -> tuple[list[tuple[int, int, Call]], dict[int, int]]:
    """Partitions 0-2 started at offset 0 and `read` added in turn: the calls placed
    (partition, offset, call) and each partition's next offset."""
    for p in range(3):
        w.start(p, 0)
    placed = []
    next_offset = {p: 0 for p in range(3)}
    for p, customer, minute in read:
        call = None if minute is None else _call(customer, minute)
        w.add(p, next_offset[p], call)
        if call is not None:
            placed.append((p, next_offset[p], call))
        next_offset[p] += 1
    return placed, next_offset


@given(records, st.integers(0, 20), st.integers(1, 10), st.integers(1, 4))
def test_settled_keeps_each_customers_order_and_the_caps(
    read: list[tuple[int, str, int | None]], horizon: int, most: int, per_customer: int
) -> None:
    w = WaitingCalls()
    placed, next_offset = _read_into(w, read)
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


@given(records, st.integers(0, 20), st.integers(1, 10))
def test_parked_customers_leave_only_through_parking_in_the_order_read(
    read: list[tuple[int, str, int | None]], horizon: int, most: int
) -> None:
    """With ten minutes past the settled moment as far (some calls are), a customer with a far
    call is not among the settled; parking gives its calls in the order read."""
    w = WaitingCalls(park_ahead=timedelta(minutes=10))
    at = T0 + timedelta(minutes=horizon)
    w.set_horizon(at)
    placed, _ = _read_into(w, read)
    far = {c.customer_id for _, _, c in placed if c.occurred_at >= at + timedelta(minutes=10)}
    assert w.parked == far
    assert not {x.call.customer_id for x in w.settled(at, 100, 100)} & far
    want = [(p, o) for p, o, c in sorted(placed, key=lambda x: x[:2]) if c.customer_id in far]
    assert [(x.partition, x.offset) for x in w.parking(most)] == want[:most]


def test_read_to_needs_the_end_read_and_no_settled_call_left() -> None:
    """Calls before expiry: a partition is read to an end once every record before it was
    read (unreadable ones too) and no call before it that the moment settles is still
    waiting; one held behind its customer's call not yet settled does not count."""
    moment = datetime(2026, 2, 1, tzinfo=UTC)

    def call(customer: str, at: datetime) -> Call:
        return Call(uuid.uuid4(), customer, None, "44", at, 60, Decimal("1"), "GBP")

    waiting = WaitingCalls()
    waiting.start(0, 0)
    assert waiting.read_to(0, 0, moment) and not waiting.read_to(0, 1, moment)
    waiting.add(0, 0, call("a", datetime(2026, 1, 5, tzinfo=UTC)))
    assert not waiting.read_to(0, 1, moment)  # read, but settled and not applied
    waiting.remove(waiting.settled(moment, 10, 10))
    assert waiting.read_to(0, 1, moment)
    waiting.passed(0, 1)  # an unreadable record
    assert waiting.read_to(0, 2, moment)
    waiting.add(0, 2, call("b", datetime(2026, 3, 1, tzinfo=UTC)))  # not settled
    waiting.add(0, 3, call("b", datetime(2026, 1, 6, tzinfo=UTC)))  # settled, held behind
    assert waiting.read_to(0, 4, moment)
    assert not waiting.read_to(1, 0, moment)  # a partition not held
