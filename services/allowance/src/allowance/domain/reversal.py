"""Reversal (docs/contract.md §6): a UsageReversed gives back every second the call it names
used, to the grant it came from, while that grant is active; to an expired grant nothing goes
back (those seconds are lost). Pure: plain values only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple, Protocol
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


class GrantSeconds(Protocol):
    """Seconds a call used of one grant (a `model.Use`, or a `Used` read back)."""

    @property
    def grant_id(self) -> UUID: ...

    @property
    def seconds(self) -> int: ...


class Used(NamedTuple):
    grant_id: UUID
    seconds: int


class CoveredCall(NamedTuple):
    """What a covered call used, recorded when it was applied (a reversal gives it back)."""

    usage_id: UUID
    customer_id: str
    did: str | None
    currency: str
    credit: Decimal
    uses: Sequence[GrantSeconds]  # in the order used (the coverage's own uses: no copy)
    reversal_id: UUID | None = None  # the reversal that took it back, once one did


@dataclass
class CoveredBatch:
    """The calls one transaction covered, column by column: what each used of which grant, in
    order, its credit, and the reversal that took it back in the same transaction (if one
    did). Columns of values that are alive anyway (the calls', the grants'), not an object per
    call: objects kept to the end of a transaction of 10,000 calls outlive the garbage
    collector's young generation, and tracing them cost a fifth of applying
    (bench/allowance_stages.py)."""

    usage_ids: list[UUID] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    dids: list[str | None] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)
    credits: list[Decimal] = field(default_factory=list)
    reversal_ids: list[UUID | None] = field(default_factory=list)
    first_use: list[int] = field(default_factory=list)  # call n's uses: [first_use[n], next)
    grant_ids: list[UUID] = field(default_factory=list)  # the uses, in order
    seconds: list[int] = field(default_factory=list)

    def add(self, call: Call, credit: Decimal, uses: Sequence[GrantSeconds]) -> int:
        """A covered call (in the order applied); returns its number in the batch."""
        self.usage_ids.append(call.usage_id)
        self.customers.append(call.customer_id)
        self.dids.append(call.did)
        self.currencies.append(call.currency)
        self.credits.append(credit)
        self.reversal_ids.append(None)
        self.first_use.append(len(self.grant_ids))
        for u in uses:
            self.grant_ids.append(u.grant_id)
            self.seconds.append(u.seconds)
        return len(self.usage_ids) - 1

    def __len__(self) -> int:
        return len(self.usage_ids)

    def call(self, n: int) -> CoveredCall:
        """Call `n` of the batch, as a covered call recorded."""
        start = self.first_use[n]
        stop = self.first_use[n + 1] if n + 1 < len(self.first_use) else len(self.grant_ids)
        return CoveredCall(
            self.usage_ids[n],
            self.customers[n],
            self.dids[n],
            self.currencies[n],
            self.credits[n],
            tuple(
                Used(g, s)
                for g, s in zip(self.grant_ids[start:stop], self.seconds[start:stop], strict=True)
            ),
            self.reversal_ids[n],
        )

    def calls(self) -> list[CoveredCall]:
        return [self.call(n) for n in range(len(self))]


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
    # What dataclasses.replace makes, as Grant.now makes it (a copy of the fields: replace
    # calls the frozen __init__, a tenth of a reversal's CPU).
    after = object.__new__(Grant)
    fields = after.__dict__
    fields.update(g.__dict__)
    fields["used_seconds"] = g.used_seconds - back
    fields["returned_seconds"] = g.returned_seconds + back
    fields["peak_used_seconds"] = g.high_water
    return GivenBack(after, back, seconds - back)


Usage = Call | Reversal
"""A record of usage.rated the allowance acts on: a call, or a reversal of one. Each customer's
are applied in the order read."""
