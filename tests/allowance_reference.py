"""An independent reference of docs/contract.md §6 (free minutes used by calls), written from the
contract with none of the allowance service's code: grants, calls waiting for the charger's
settled moment in their customer's order, use by the contract's order, thresholds, expiry,
rollover grants and reversals. The workloads of the kill tests predict the service's output
with it (tests/allowance_rollover_load.py); tests/unit/test_allowance_reference.py holds it to
the contract's worked example.

Not modelled (the workloads never send them): a grant read after a ChargesSettled that passed
its window, records that are not calls, a call or reversal of another customer's usage_id."""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

SIX_PLACES = Decimal("0.000001")


def natural_id(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packages:{key}"))


@dataclass
class Grant:
    grant_id: str
    customer_id: str
    did: str | None
    assignment_id: str | None
    prefixes: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    granted: int  # seconds
    notify: tuple[int, ...] = ()
    rollover_percent: int = 0
    rollover_days: int | None = None
    rolled_over_from: str | None = None
    used: int = 0
    returned: int = 0
    rolled: int = 0
    expired: bool = False
    reached: set[int] = field(default_factory=set)

    @property
    def remaining(self) -> int:
        return self.granted - self.used - self.rolled

    def balance(self) -> dict[str, Any]:
        """The fields of its AllowanceBalance now, with its event id (§6)."""
        status = "expired" if self.expired else "active"
        returned = f":r{self.returned}" if self.returned else ""
        return {
            "event_id": natural_id(f"balance:{self.grant_id}:{self.used}{returned}:{status}"),
            "grant_id": self.grant_id,
            "customer_id": self.customer_id,
            "did": self.did,
            "assignment_id": self.assignment_id,
            "destination_prefixes": list(self.prefixes),
            "granted_seconds": self.granted,
            "used_seconds": self.used,
            "remaining_seconds": self.remaining,
            "returned_seconds": self.returned,
            "rolled_over_from": self.rolled_over_from,
            "rolled_over_seconds": self.rolled,
            "status": status,
        }


@dataclass(frozen=True)
class Call:
    usage_id: str
    customer_id: str
    did: str | None
    destination: str
    occurred_at: datetime
    duration_seconds: int
    amount: Decimal
    currency: str = "GBP"


@dataclass(frozen=True)
class Reversal:
    reversal_id: str
    usage_id: str
    customer_id: str


def _prefix_length(grant: Grant, destination: str) -> int | None:
    """The longest of the grant's prefixes the destination starts with (0 for any), or None."""
    if not grant.prefixes:
        return 0
    lengths = [len(p) for p in grant.prefixes if destination.startswith(p)]
    return max(lengths) if lengths else None


def credit_of(amount: Decimal, covered: int, duration: int) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return (amount * covered / duration).quantize(SIX_PLACES, rounding=ROUND_HALF_EVEN)


class Allowance:
    """One allowance, message by message: `grant`, `read` (a call or a reversal, as written to
    usage.rated), `settle` (a ChargesSettled). What it would publish is in `used`, `returned`,
    `alerts` and the grants' `balance()`."""

    def __init__(self) -> None:
        self.grants: dict[str, Grant] = {}
        self.of_customer: dict[str, list[Grant]] = defaultdict(list)
        self.waiting: dict[str, deque[Call | Reversal]] = defaultdict(deque)
        self.settled: datetime | None = None
        self.seen_calls: set[str] = set()
        self.seen_reversals: set[str] = set()
        self.used: dict[str, dict[str, Any]] = {}  # usage_id -> FreeMinutesUsed's fields
        self.returned: dict[str, dict[str, Any]] = {}  # usage_id -> FreeMinutesReturned's
        self.alerts: dict[tuple[str, int], str] = {}  # (grant_id, percent) -> usage_id

    def grant(self, g: Grant) -> None:
        if self.settled is not None and self.settled >= g.valid_until:
            raise ValueError("a grant read after its window was settled is not modelled")
        self._add(g)

    def _add(self, g: Grant) -> None:
        self.grants[g.grant_id] = g
        self.of_customer[g.customer_id].append(g)

    def read(self, message: Call | Reversal) -> None:
        self.waiting[message.customer_id].append(message)
        self._drain(message.customer_id)

    def settle(self, at: datetime) -> None:
        """The calls it settles first (each customer's in order), then the expiries."""
        if self.settled is not None and at <= self.settled:
            return
        self.settled = at
        for customer in list(self.waiting):
            self._drain(customer)
        for g in list(self.grants.values()):
            if not g.expired and g.valid_until <= at:
                self._expire(g, at)

    def _drain(self, customer: str) -> None:
        queue = self.waiting[customer]
        while queue:
            head = queue[0]
            if isinstance(head, Call) and (
                self.settled is None or head.occurred_at >= self.settled
            ):
                return  # waits, and every later message of the customer with it
            queue.popleft()
            if isinstance(head, Call):
                self._apply(head)
            else:
                self._reverse(head)

    def _order(self, call: Call) -> list[Grant]:
        fit = []
        for g in self.of_customer[call.customer_id]:
            length = _prefix_length(g, call.destination)
            if (
                length is not None
                and g.did in (None, call.did)
                and g.valid_from <= call.occurred_at < g.valid_until
                and g.remaining > 0
            ):
                fit.append((-length, g.did is None, g.valid_until, g.grant_id, g))
        return [entry[-1] for entry in sorted(fit, key=lambda e: e[:4])]

    def _apply(self, call: Call) -> None:
        if call.usage_id in self.seen_calls:
            return
        self.seen_calls.add(call.usage_id)
        left, uses = call.duration_seconds, []
        for g in self._order(call):
            if left == 0:
                break
            take = min(left, g.remaining)
            g.used += take
            left -= take
            uses.append((g, take, g.remaining))
        covered = call.duration_seconds - left
        if covered == 0:
            return
        self.used[call.usage_id] = {
            "call": call,
            "covered_seconds": covered,
            "credit": credit_of(call.amount, covered, call.duration_seconds),
            "grants": [(g.grant_id, take, remaining) for g, take, remaining in uses],
        }
        for g, _, _ in uses:
            for p in sorted(g.notify):
                if p not in g.reached and g.used * 100 >= g.granted * p:
                    g.reached.add(p)
                    self.alerts[(g.grant_id, p)] = call.usage_id

    def _reverse(self, reversal: Reversal) -> None:
        if reversal.reversal_id in self.seen_reversals:
            return
        self.seen_reversals.add(reversal.reversal_id)
        used = self.used.get(reversal.usage_id)
        if used is None or reversal.usage_id in self.returned:
            return  # not covered, never read, or reversed before
        grants = []
        for grant_id, seconds, _ in used["grants"]:
            g = self.grants[grant_id]
            back = 0 if g.expired else seconds
            g.used -= back
            g.returned += back
            grants.append((grant_id, back, seconds - back, g.remaining))
        self.returned[reversal.usage_id] = {
            "reversal_id": reversal.reversal_id,
            "credit": used["credit"],
            "grants": grants,
        }

    def _expire(self, g: Grant, at: datetime) -> None:
        g.expired = True
        if g.rollover_percent == 0 or g.rolled_over_from is not None:
            return
        assert g.rollover_days is not None
        carry = min(g.granted - g.used, g.granted * g.rollover_percent // 100)
        if carry <= 0:
            return
        g.rolled = carry
        until = g.valid_until + timedelta(hours=24 * g.rollover_days)
        self._add(
            Grant(
                grant_id=natural_id(f"rollover:{g.grant_id}"),
                customer_id=g.customer_id,
                did=g.did,
                assignment_id=g.assignment_id,
                prefixes=g.prefixes,
                valid_from=g.valid_until,
                valid_until=until,
                granted=carry,
                rolled_over_from=g.grant_id,
                expired=until <= at,
            )
        )
