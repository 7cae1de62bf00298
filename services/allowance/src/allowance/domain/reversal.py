"""Reversal (docs/contract.md §6): a UsageReversed gives back every second the call it names
used, to the grant it came from, while that grant is active; to an expired grant nothing goes
back (those seconds are lost). Pure: plain values only."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from allowance.domain.model import Call, Grant

AT_ONCE = datetime(1, 1, 1, tzinfo=UTC)
"""The moment a reversal waits for: none. It is applied as soon as its customer's calls read
before it are (the calls checkpoint keeps each customer's items in the order read, and a call
not settled yet holds back everything of its customer behind it)."""


@dataclass(frozen=True, slots=True)
class Reversal:
    """A UsageReversed read: it takes back the call `usage_id` of `customer_id`."""

    reversal_id: UUID
    usage_id: UUID  # the call it takes back
    customer_id: str
    occurred_at: datetime = AT_ONCE  # for waiting in order with calls: settled at once


class CoveredCall(NamedTuple):
    """What a covered call used, recorded when it was applied (a reversal gives it back)."""

    usage_id: UUID
    customer_id: str
    did: str | None
    currency: str
    credit: Decimal
    uses: tuple[tuple[UUID, int], ...]  # (grant_id, seconds), in the order used
    reversal_id: UUID | None = None  # the reversal that took it back, once one did


class GivenBack(NamedTuple):
    grant: Grant  # the grant after the reversal
    returned: int  # seconds given back to it
    lost: int  # seconds not given back (the grant had expired)


def give_back(g: Grant, seconds: int) -> GivenBack:
    """`seconds` a reversed call used of `g` come back to it while it is active (its thresholds
    reached stay reached: `peak_used_seconds`); an expired grant keeps its state, and a
    rollover it made is not changed."""
    if g.status != "active" or seconds <= 0:
        return GivenBack(g, 0, max(seconds, 0))
    back = min(seconds, g.used_seconds)
    after = replace(
        g,
        used_seconds=g.used_seconds - back,
        returned_seconds=g.returned_seconds + back,
        peak_used_seconds=g.high_water,
    )
    return GivenBack(after, back, seconds - back)


Usage = Call | Reversal
"""A record of usage.rated the allowance acts on: a call, or a reversal of one. Each customer's
are applied in the order read."""
