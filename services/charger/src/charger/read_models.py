"""The models of the charger's read API answers (charger.views reads them from PostgreSQL):
a customer's charges, holds, top-ups, spend limit and month-to-date totals, and the clock. The
OpenAPI document (docs/openapi) is generated from them."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from pkgcontract import money
from pkgcontract.messages import Money
from pkgshared.http import Page


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Charge(_View):
    charge_key: str = Field(
        description="The charge's natural key: debit:<assignment>:<period|setup>, "
        "grant:<assignment>:<period>, or a top-up's debit:topup:<id> / grant:topup:<id>."
    )
    assignment_id: UUID | None = Field(description="Null for a top-up's charge.")
    topup_id: UUID | None = Field(default=None, description="The top-up charged, else null.")
    package_id: str | None = Field(description="The assignment's package (null if unknown).")
    kind: str = Field(description="recurring, setup, minimum_spend, topup or grant.")
    status: str = Field(
        description="charged (CreditDebited / FreeMinutesGranted sent), declined "
        "(ChargeDeclined) or covered (a minimum spend met by usage)."
    )
    period_start: date
    period_end: date | None = Field(
        description="Exclusive end of what was charged (null: recorded before ends were kept)."
    )
    charged_days: int | None = Field(
        description="Set for a part-period charged by the day (proration): its days..."
    )
    period_days: int | None = Field(description="... of its enclosing period's days.")
    amount: Money | None = Field(description="Debit amount; null for a grant.")
    currency: str | None
    minutes: int | None = Field(description="Free minutes granted; null for a debit.")
    reason: str | None = Field(description="scheduled (a tick) or run_package.")
    decline_reason: str | None = Field(
        description="Why a declined charge was not made (spend_limit_exceeded); else null."
    )
    credited: Money | None = Field(
        description="Money back for days an early end no longer covers (CreditIssued)."
    )
    credited_from: date | None
    credited_days: int | None
    made_at: datetime = Field(description="When the charger recorded it.")


class MonthTotal(_View):
    currency: str
    charged: Money = Field(description="Debits charged: what the spend limit counts (exact).")
    declined: Money = Field(description="Debits declined by the spend limit (exact).")
    credited: Money = Field(
        default=money.ZERO,
        description="Credits issued (CreditIssued) for this month's debits: days an early end "
        "no longer covers (exact).",
    )
    net: Money = Field(
        default=money.ZERO, description="charged less credited: what the month costs (exact)."
    )


class Held(_View):
    assignment_id: UUID
    package_id: str
    hold: str = Field(
        description="held (over the catch-up limit: nothing is charged until "
        "ReleaseHeldCharges) or released (the next tick charges every period due)."
    )
    reason: str | None = Field(
        default=None,
        description='Why it was held, as its ChargesHeld said: "catch_up_limit", or "failed: '
        '<error>" (its charges failed on every retry); null for a hold recorded before '
        "reasons were kept.",
    )
    charged_through: date | None = Field(
        description="The start of the last period handled before the hold (null: none)."
    )


class TopUp(_View):
    """A top-up read (GrantMinutes, docs/contract.md §4): due at valid_from."""

    topup_id: UUID
    valid_from: datetime
    valid_until: datetime
    minutes: int
    destination_prefixes: list[str]
    retail: Money | None
    currency: str | None
    reason: str | None
    status: str = Field(
        description="pending (due at valid_from), granted, declined (spend limit), or failed "
        "(set aside: it failed for its own sake on every try)."
    )


class SpendLimit(_View):
    monthly_limit: Money | None
    currency: str | None


class CustomerCharges(_View):
    customer_id: str
    from_date: date = Field(description="First period start shown (inclusive).")
    to_date: date = Field(description="Last period start shown (inclusive).")
    month: date | None = Field(
        description="The first day of the month shown: `month` when asked, else the charger's "
        "current month (its clock's UTC date); null before the first tick."
    )
    month_to_date: list[MonthTotal] = Field(
        description="That month's debits per currency, counted as the spend limit counts them "
        "(to the charger's date in its current month), with credits and net."
    )
    minutes_granted_this_month: int
    spend_limit: SpendLimit | None = Field(description="As the charger last read it.")
    held: list[Held] = Field(description="Assignments held or released, not yet charged.")
    topups: list[TopUp] = Field(
        default_factory=list,
        description="Top-ups not made yet, and those due in [from, to] (at most 100).",
    )
    charges: Page[Charge] = Field(description="Charges with period_start in [from, to].")


class Clock(_View):
    tick_at: datetime | None = Field(description="The latest tick accepted (null: none yet).")
    tick_id: UUID | None
    settled: bool = Field(
        description="Whether ChargesSettled was written for it (every charge it made due is "
        "in the outbox)."
    )
