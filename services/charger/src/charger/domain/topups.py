"""Top-ups (docs/contract.md §4 GrantMinutes): minutes bought or given once, outside any package.
A top-up is a charge like a period's: due at `valid_from`, made once under its natural keys,
its debit (retail > 0) subject to the customer's monthly spend limit; a declined top-up grants
nothing. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal, NamedTuple
from uuid import UUID

from charger.domain.model import MonthTotals, SpendLimit, exceeds_spend_limit
from pkgcontract.messages import GrantMinutes

TopUpOutcome = Literal["granted", "declined"]


@dataclass(frozen=True)
class TopUp:
    topup_id: UUID
    customer_id: str
    did: str | None
    minutes: int
    destination_prefixes: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    retail: Decimal | None
    currency: str | None
    notify_at_percent: tuple[int, ...]
    correlation_id: str | None = None

    @property
    def day(self) -> date:
        """The debit's period_start and period_end: the UTC date of valid_from."""
        return self.valid_from.astimezone(UTC).date()

    @property
    def priced(self) -> bool:
        """Whether it makes a debit (retail > 0, with its currency)."""
        return self.retail is not None and self.retail > 0 and self.currency is not None

    @property
    def debit_key(self) -> str:
        return f"debit:topup:{self.topup_id}"

    @property
    def grant_key(self) -> str:
        return f"grant:topup:{self.topup_id}"

    @property
    def declined_key(self) -> str:
        return f"declined:topup:{self.topup_id}"

    def due_by(self, at: datetime) -> bool:
        """Due once a tick's `at` reaches valid_from (docs/contract.md §5: a moment is due...)."""
        return self.valid_from <= at


def topup_of(cmd: GrantMinutes) -> TopUp:
    return TopUp(
        topup_id=cmd.topup_id,
        customer_id=cmd.customer_id,
        did=cmd.did,
        minutes=cmd.minutes,
        destination_prefixes=tuple(cmd.destination_prefixes or ()),
        valid_from=cmd.valid_from,
        valid_until=cmd.valid_until,
        retail=cmd.retail,
        currency=cmd.currency,
        notify_at_percent=tuple(cmd.notify_at_percent),
        correlation_id=cmd.correlation_id,
    )


def decide_topups(
    topups: list[TopUp], limit: SpendLimit | None, totals: MonthTotals
) -> list[tuple[TopUp, TopUpOutcome]]:
    """One customer's due top-ups in (valid_from, topup_id) order: each priced one declined
    when its debit would take the month of its day over the limit (the same rule as every
    debit); `totals` is updated with every debit made."""
    out: list[tuple[TopUp, TopUpOutcome]] = []
    for t in sorted(topups, key=lambda t: (t.valid_from, str(t.topup_id))):
        if t.priced:
            assert t.retail is not None and t.currency is not None
            if exceeds_spend_limit(limit, totals, t.currency, t.day, t.retail):
                out.append((t, "declined"))
                continue
            totals.add(t.currency, t.day, t.retail)
        out.append((t, "granted"))
    return out


class TopUpDebited(NamedTuple):
    """A top-up's debit made: CreditDebited kind "topup"."""

    topup: TopUp
    made_at: datetime


class TopUpGranted(NamedTuple):
    """A top-up's minutes granted: FreeMinutesGranted with its topup_id."""

    topup: TopUp
    made_at: datetime


class TopUpDeclined(NamedTuple):
    """A top-up's debit declined by the spend limit: ChargeDeclined, and no grant."""

    topup: TopUp
    made_at: datetime


TopUpEvent = TopUpDebited | TopUpGranted | TopUpDeclined


def events_of(topup: TopUp, outcome: TopUpOutcome, made_at: datetime) -> list[TopUpEvent]:
    """What a top-up made causes, in order: its debit (when priced), then its grant; or, when
    declined, the ChargeDeclined alone."""
    if outcome == "declined":
        return [TopUpDeclined(topup, made_at)]
    debit: list[TopUpEvent] = [TopUpDebited(topup, made_at)] if topup.priced else []
    return [*debit, TopUpGranted(topup, made_at)]
