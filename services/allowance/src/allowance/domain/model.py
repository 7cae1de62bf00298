"""Which free minutes cover a call, and how much (docs/contract.md §6). Pure: plain values only.

A call is covered per second, from the grants that can cover it, in order: longest matching
destination prefix first (an empty prefix list matches any destination, as length 0), then a
DID-level grant before a customer-level one, then the earliest `valid_until`, then `grant_id`.
Each grant gives `min(seconds left in the call, seconds left in the grant)` until the call is
covered or no grant is left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from pkgcontract import money


@dataclass(frozen=True)
class Grant:
    grant_id: UUID
    customer_id: str
    did: str | None
    assignment_id: UUID | None  # None: a top-up's grant
    destination_prefixes: tuple[str, ...]  # empty: any destination
    valid_from: datetime
    valid_until: datetime
    granted_seconds: int
    used_seconds: int = 0
    status: str = "active"  # or "expired": a ChargesSettled at or after valid_until was read
    notify_at_percent: tuple[int, ...] = ()  # AllowanceThresholdReached at each (sorted)
    topup_id: UUID | None = None  # the top-up (GrantMinutes) this grant is, else None
    rollover_percent: int = 0  # the share of granted seconds that may carry over on expiry
    rollover_days: int | None = None  # how long carried seconds last
    rolled_over_from: UUID | None = None  # a rollover grant: the grant it carries from
    rolled_over_seconds: int = 0  # seconds carried into a rollover grant (set on expiry)
    returned_seconds: int = 0  # seconds reversals gave back, in all (used_seconds is net)
    peak_used_seconds: int = 0  # the most ever used before seconds came back (0: none came)

    @property
    def remaining_seconds(self) -> int:
        return self.granted_seconds - self.used_seconds - self.rolled_over_seconds

    @property
    def high_water(self) -> int:
        """The most seconds ever used: thresholds reached stay reached when seconds come back
        (docs/contract.md §6 Reversal)."""
        return max(self.used_seconds, self.peak_used_seconds)

    def using(self, seconds: int) -> Grant:
        """The grant after `seconds` more are used (one per covered call)."""
        return self.now(self.used_seconds + seconds, self.status)

    def now(self, used_seconds: int, status: str) -> Grant:
        """The grant with what changes of it as given: dataclasses.replace, made as a copy of
        the fields (a frozen dataclass's __init__ sets each through object.__setattr__, three
        times slower; one per grant a call uses: docs/benchmarks.md, "Micro-costs"). A test
        holds it to replace."""
        new = object.__new__(Grant)
        fields = new.__dict__
        fields.update(self.__dict__)
        fields["used_seconds"] = used_seconds
        fields["status"] = status
        return new

    def match_length(self, destination: str) -> int | None:
        """The longest of the grant's prefixes `destination` starts with (0 for an empty
        list), or None when none matches."""
        if not self.destination_prefixes:
            return 0
        best: int | None = None
        for prefix in self.destination_prefixes:
            if destination.startswith(prefix) and (best is None or len(prefix) > best):
                best = len(prefix)
        return best


@dataclass(frozen=True)
class Call:
    usage_id: UUID
    customer_id: str
    did: str | None
    destination: str
    occurred_at: datetime
    duration_seconds: int
    amount: Decimal
    currency: str


# Named tuples rather than frozen dataclasses: one or two of each per call, made at a quarter
# of the cost.
class Use(NamedTuple):
    grant: Grant  # the grant after this call
    seconds: int
    position: int  # where the grant was in the list `cover` was given

    @property
    def grant_id(self) -> UUID:
        return self.grant.grant_id


class Coverage(NamedTuple):
    call: Call
    uses: tuple[Use, ...]  # in the order used; empty: nothing covered
    covered_seconds: int  # the sum of the uses' seconds

    @property
    def credit(self) -> Decimal:
        return credit(self.call.amount, self.covered_seconds, self.call.duration_seconds)


credit = money.credit
"""amount x covered / duration, rounded half-even to 6 places, exactly (pkgcontract.money)."""


def thresholds(before: Grant, after: Grant) -> list[int]:
    """The percents of the grant's notify_at_percent that a call first reached: those with
    `used_seconds x 100 >= granted_seconds x p` after it and never before (not even before
    a reversal gave seconds back), in increasing order (docs/contract.md §6
    AllowanceThresholdReached)."""
    granted = after.granted_seconds
    reached = before.high_water * 100
    return [p for p in after.notify_at_percent if after.used_seconds * 100 >= granted * p > reached]


def _ranked(grants: list[Grant], call: Call) -> list[int]:
    """The positions in `grants` of those that can cover `call`, in the order they are used.
    A grant can cover it when it is the same customer's, has seconds left (what it carried
    into a rollover grant is not left), is the call's DID's
    or any DID's, its window holds the call's moment, and a prefix matches."""
    ranked = []
    customer, did, at, destination = call.customer_id, call.did, call.occurred_at, call.destination
    for n, g in enumerate(grants):
        if g.customer_id != customer or g.used_seconds + g.rolled_over_seconds >= g.granted_seconds:
            continue
        if (g.did is not None and g.did != did) or not (g.valid_from <= at < g.valid_until):
            continue
        length = g.match_length(destination)
        if length is not None:
            # UUIDs order as their canonical strings do (fixed-width hex): no str() needed.
            ranked.append((-length, g.did is None, g.valid_until, g.grant_id, n))
    if len(ranked) > 1:
        ranked.sort()
    return [r[4] for r in ranked]


def cover(call: Call, grants: list[Grant]) -> Coverage:
    """How the customer's `grants` cover `call`; the grants used, as they are after it, are in
    the coverage's uses with their positions in `grants` (the caller keeps them for the
    customer's next call)."""
    left = call.duration_seconds
    uses: list[Use] = []
    for n in _ranked(grants, call):
        if left == 0:
            break
        g = grants[n]
        seconds = min(left, g.granted_seconds - g.used_seconds - g.rolled_over_seconds)
        left -= seconds
        uses.append(Use(g.using(seconds), seconds, n))
    return Coverage(call, tuple(uses), call.duration_seconds - left)
