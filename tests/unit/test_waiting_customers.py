"""Who has calls waiting (allowance.adapters.waiting, for GET /calls/waiting and `pkgctl
waiting`): each customer with calls held, how many, and when its oldest occurred, across
partitions; calls applied or of partitions taken away are not counted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from allowance.adapters.waiting import WaitingCalls
from allowance.domain.model import Call

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _call(customer: str, minute: int) -> Call:
    return Call(
        uuid.uuid4(), customer, None, "44", T0 + timedelta(minutes=minute), 60, Decimal(1), "GBP"
    )


def test_each_customer_with_calls_held_how_many_and_the_oldest() -> None:
    w = WaitingCalls()
    assert w.customers() == {}
    w.start(0, 0)
    w.start(1, 0)
    w.add(0, 0, _call("a", 9))
    w.add(0, 1, _call("b", 5))
    w.add(1, 0, _call("a", 3))  # a's oldest is on another partition
    w.add(1, 1, _call("c", 1))
    assert w.customers() == {
        "a": (2, T0 + timedelta(minutes=3)),
        "b": (1, T0 + timedelta(minutes=5)),
        "c": (1, T0 + timedelta(minutes=1)),
    }
    w.remove(w.settled(T0 + timedelta(minutes=2), 100, 100))  # c's call applied
    w.drop([0])  # partition 0 taken away
    assert w.customers() == {"a": (1, T0 + timedelta(minutes=3))}
