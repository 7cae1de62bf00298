"""A UsageReversed under another Kafka key than its customer's (docs/contract.md §3 keys
usage.rated by customer_id) is read from another partition than its call: it still waits while
the call it names waits in this instance (§6 Reversal: "when its call waits, it waits too"),
without holding back the expiry or anyone else, and is parked after that call when the call's
customer is parked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from allowance.adapters.waiting import WaitingCalls
from allowance.domain.model import Call
from allowance.domain.reversal import Reversal

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _call(customer: str, minute: int) -> Call:
    return Call(
        uuid.uuid4(), customer, None, "44", T0 + timedelta(minutes=minute), 60, Decimal(1), "GBP"
    )


def _held(reversal_partition: int) -> tuple[WaitingCalls, Call, Reversal, Call]:
    """The call on partition 1, its reversal (under another key) and a later call of the same
    customer on `reversal_partition`."""
    waiting = WaitingCalls()
    for p in (0, 1, 2):
        waiting.start(p, 0)
    c = _call("a", 30)
    r = Reversal(uuid.uuid4(), c.usage_id, "a")
    later = _call("a", 1)
    waiting.add(1, 0, c)
    waiting.add(reversal_partition, 0, r, stray=True)
    waiting.add(reversal_partition, 1, later)
    waiting.add(reversal_partition, 2, _call("b", 1))
    return waiting, c, r, later


def test_a_reversal_under_another_key_waits_while_its_call_waits() -> None:
    for partition in (0, 2):  # read before or after the call's partition
        waiting, c, r, later = _held(partition)
        early = T0 + timedelta(minutes=10)  # the call is not settled yet
        waiting.set_horizon(early)
        chosen = [w.call for w in waiting.settled(early, 100, 100)]
        assert r not in chosen and later not in chosen  # the customer's order on its partition
        assert [x.customer_id for x in chosen] == ["b"]
        # Held back by a call that is not settled: the expiry at `early` does not wait for it.
        waiting.remove([w for w in waiting.settled(early, 100, 100)])
        ends = {1: 1, partition: 3, 2 - partition: 0}
        assert all(waiting.read_to(p, end, early) for p, end in ends.items())
        late = T0 + timedelta(hours=1)
        chosen = [w.call for w in waiting.settled(late, 100, 100)]
        assert chosen.index(c) < chosen.index(r) if r in chosen else chosen == [c]
        waiting.remove([w for w in waiting.settled(late, 100, 100) if w.call is c])
        chosen = [w.call for w in waiting.settled(late, 100, 100)]
        assert chosen == [r, later]


def test_a_reversal_of_a_call_read_under_another_key_waits_for_it() -> None:
    """The call is the stray (read under a key not its customer's), the reversal is not."""
    waiting = WaitingCalls()
    for p in (0, 1):
        waiting.start(p, 0)
    c = _call("a", 30)
    r = Reversal(uuid.uuid4(), c.usage_id, "a")
    waiting.add(1, 0, c, stray=True)
    waiting.add(0, 0, r)
    early = T0 + timedelta(minutes=10)
    waiting.set_horizon(early)
    assert waiting.settled(early, 100, 100) == []
    assert waiting.read_to(0, 1, early) and waiting.read_to(1, 1, early)
    late = T0 + timedelta(hours=1)
    assert [w.call for w in waiting.settled(late, 100, 100)] == [c]
    waiting.remove(waiting.settled(late, 100, 100))
    assert [w.call for w in waiting.settled(late, 100, 100)] == [r]
    waiting.remove(waiting.settled(late, 100, 100))
    assert waiting.count == 0 and not waiting._strays


def test_a_reversal_under_another_key_is_parked_after_its_call() -> None:
    waiting = WaitingCalls()
    for p in (0, 1):
        waiting.start(p, 0)
    waiting.set_horizon(T0)
    far = _call("a", 60 * 24 * 30)  # a month past the settled moment: parked
    r = Reversal(uuid.uuid4(), far.usage_id, "a")
    waiting.add(1, 0, far)
    waiting.add(0, 0, r, stray=True)
    parked = [w.call for w in waiting.parking(100)]
    assert parked.index(far) < parked.index(r) if r in parked else parked == [far]
    waiting.remove([w for w in waiting.parking(100) if w.call is far])
    if r not in parked:  # parked on the next pass, after its call
        assert [w.call for w in waiting.parking(100)] == [r]
