"""Charger messages (docs/contract.md §4 Charger)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .envelope import Message
from .fields import (
    Currency,
    CustomerId,
    Day,
    DestinationPrefix,
    Did,
    Flag,
    Instant,
    Money,
    PackageId,
    PositiveInt,
    Uuid,
)

DebitKind = Literal["recurring", "setup", "minimum_spend", "topup"]


class CreditDebited(Message):
    """A charge made. event_id = debit_id = uuid5 of 'debit:<assignment_id>:<period_start>'
    (a top-up's: 'debit:topup:<topup_id>')."""

    event_type: Literal["CreditDebited"] = "CreditDebited"
    debit_id: Uuid = Field(description="Equals event_id.")
    customer_id: CustomerId
    did: Did | None
    assignment_id: Uuid | None = Field(description="Null for a top-up.")
    package_id: PackageId | None = Field(description="Null for a top-up.")
    package_version: PositiveInt | None = Field(description="Null for a top-up.")
    amount: Money
    cost: Money | None = Field(description="The operator's matching cost, or null.")
    currency: Currency
    period_start: Day
    period_end: Day = Field(description="Exclusive: the period is [period_start, period_end).")
    kind: DebitKind
    reason: Literal["scheduled", "run_package"]
    charged_days: PositiveInt | None = Field(
        default=None, description="Days charged when the debit is prorated (§7), else null."
    )
    period_days: PositiveInt | None = Field(
        default=None,
        description="Days of the enclosing period when the debit is prorated (§7), else null.",
    )
    topup_id: Uuid | None = Field(
        default=None, description="The top-up (GrantMinutes) a kind topup debit is for; else null."
    )


class CreditIssued(Message):
    """Money back for the days of a debited period that an end date set or moved no longer
    covers (docs/contract.md §7). event_id = credit_id = uuid5 of
    'credit:<assignment_id>:<period_start>'; at most one per debited period."""

    event_type: Literal["CreditIssued"] = "CreditIssued"
    credit_id: Uuid = Field(description="Equals event_id.")
    customer_id: CustomerId
    did: Did | None
    assignment_id: Uuid
    package_id: PackageId
    package_version: PositiveInt = Field(description="The version that charged the debit.")
    debit_id: Uuid = Field(description="The debit it credits.")
    amount: Money = Field(description="The debit's amount x credited_days / its charged days.")
    cost: Money | None
    currency: Currency
    period_start: Day = Field(description="The debit's.")
    period_end: Day = Field(description="The debit's.")
    credited_from: Day = Field(description="end_date + 1, or period_start when all of it is.")
    credited_days: PositiveInt
    reason: Literal["ended_early"]


MAX_GRANT_MINUTES = 1_000_000 * 100_000
"""The most minutes a grant can hold: free_minutes (at most 1,000,000) x quantity (at most
100,000), docs/contract.md §4. A grant beyond it (or rollover_days beyond 366) is unreadable
(DeadLetter): no reader's arithmetic or column is asked to hold more than the contract
bounds."""


class FreeMinutesGranted(Message):
    """Free minutes for one period. event_id = grant_id = uuid5 of 'grant:<id>:<period_start>'
    (a top-up's: 'grant:topup:<topup_id>')."""

    event_type: Literal["FreeMinutesGranted"] = "FreeMinutesGranted"
    grant_id: Uuid = Field(description="Equals event_id.")
    customer_id: CustomerId
    did: Did | None
    assignment_id: Uuid | None = Field(description="Null for a top-up.")
    package_id: PackageId | None = Field(description="Null for a top-up.")
    minutes: PositiveInt = Field(
        le=MAX_GRANT_MINUTES,
        description="free_minutes x quantity; for a prorated part-period (§7) "
        "floor(free_minutes x quantity x charged_days / period_days).",
    )
    destination_prefixes: list[DestinationPrefix] = Field(description="Empty: any destination.")
    valid_from: Instant
    valid_until: Instant = Field(
        description="Unused minutes expire here; the share rollover_percent allows carries over."
    )
    notify_at_percent: list[int] = Field(
        default_factory=list,
        description="The package version's percents of use that send "
        "AllowanceThresholdReached, sorted; empty: none.",
    )
    rollover_percent: int = Field(
        default=0,
        ge=0,
        le=100,
        description="The package version's rollover_percent (0: none; always 0 for a top-up).",
    )
    rollover_days: PositiveInt | None = Field(
        default=None,
        le=366,
        description="The package version's rollover_days (1-366), or null when none.",
    )
    topup_id: Uuid | None = Field(default=None, description="The top-up it grants, else null.")


class ChargeDeclined(Message):
    """A due charge that was not made (spend limit); the period stays declined."""

    event_type: Literal["ChargeDeclined"] = "ChargeDeclined"
    customer_id: CustomerId
    assignment_id: Uuid | None = Field(description="Null for a top-up.")
    kind: DebitKind
    period_start: Day
    amount: Money
    currency: Currency
    reason: Literal["spend_limit_exceeded"]
    topup_id: Uuid | None = Field(
        default=None,
        description="The declined top-up (event_id key declined:topup:<topup_id>), else null.",
    )


class RunPackage(Message):
    """Charge (or simulate) one customer's packages as if a tick at the end of `date` came."""

    event_type: Literal["RunPackage"] = "RunPackage"
    request_id: Uuid
    customer_id: CustomerId
    date: Day
    simulate: Flag


class RunLine(BaseModel):
    """One charge a run considered."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    assignment_id: Uuid
    package_id: PackageId
    kind: Literal["recurring", "setup", "minimum_spend", "grant"]
    period_start: Day
    period_end: Day
    amount: Money | None
    currency: Currency | None
    minutes: PositiveInt | None
    status: Literal["charged", "would_charge", "already_charged", "declined", "held"]
    count: PositiveInt | None = Field(
        default=None,
        description="A held line's charges due (a simulated run over the catch-up limit for "
        "one assignment: one line for them all, amount null); null on every other line.",
    )


class PackageRunReported(Message):
    event_type: Literal["PackageRunReported"] = "PackageRunReported"
    request_id: Uuid
    customer_id: CustomerId
    date: Day
    simulate: Flag
    lines: list[RunLine]
    totals: dict[str, Money] = Field(
        description="currency -> sum of the amounts charged (or to be charged) by this run."
    )
    part: PositiveInt = Field(
        default=1,
        description="This part's number: a report of more than 2,000 lines is sent "
        "in parts, each with its share of the lines and the full totals.",
    )
    parts: PositiveInt = Field(default=1, description="How many parts the report has.")


class ChargeUpcoming(Message):
    """Notice of a recurring debit that will be made (docs/contract.md §4): sent once per period,
    `notice_days` before it falls due.
    event_id = uuid5 of 'upcoming:<assignment_id>:<period_start>'."""

    event_type: Literal["ChargeUpcoming"] = "ChargeUpcoming"
    customer_id: CustomerId
    did: Did | None
    assignment_id: Uuid
    package_id: PackageId
    package_version: PositiveInt
    amount: Money
    currency: Currency
    period_start: Day
    period_end: Day = Field(description="Exclusive: the period is [period_start, period_end).")
    due_at: Instant = Field(description="The instant the debit becomes due.")
    exceeds_spend_limit: Flag = Field(
        description="The amount added to what is already charged in the calendar month of "
        "period_start would exceed the customer's current spend limit."
    )


class ChargesHeld(Message):
    """One tick would have made more charges for an assignment than the catch-up limit, or
    its charges failed on every retry: none was made and the assignment is held until
    ReleaseHeldCharges (or a real RunPackage).
    event_id = uuid5 of 'held:<assignment_id>:<first_period_start>' (the catch-up limit) or
    'held:<assignment_id>:failed:<tick_id>'."""

    event_type: Literal["ChargesHeld"] = "ChargesHeld"
    customer_id: CustomerId
    assignment_id: Uuid
    package_id: PackageId
    tick_id: Uuid = Field(description="The tick that made them due.")
    count: PositiveInt = Field(description="Charges due at that tick (debits, grants, setup).")
    first_period_start: Day
    last_period_start: Day
    reason: str = Field(
        default="catch_up_limit",
        max_length=500,
        description='"catch_up_limit", or "failed: <error>" when its charges failed for '
        "their own sake on every retry (then the key is held:<assignment_id>:failed:<tick_id>).",
    )


class ReleaseHeldCharges(Message):
    """Release a held assignment: the next tick makes everything due for it, in order,
    without the catch-up limit."""

    event_type: Literal["ReleaseHeldCharges"] = "ReleaseHeldCharges"
    customer_id: CustomerId
    assignment_id: Uuid


class ChargesReleased(Message):
    """A held assignment was released. event_id = uuid5 of 'released:<command_id>'."""

    event_type: Literal["ChargesReleased"] = "ChargesReleased"
    customer_id: CustomerId
    assignment_id: Uuid


class ChargesSettled(Message):
    """Every charge due by `at` is on its topic (docs/contract.md §4): a reader that sees this and
    then reads the charge topics to their end has every such charge."""

    event_type: Literal["ChargesSettled"] = "ChargesSettled"
    tick_id: Uuid = Field(description="The tick that made them due.")
    at: Instant = Field(description="The tick's instant.")


class TickRefused(Message):
    """A tick too far ahead of the charger's wall clock, refused: it changed nothing and is not
    the latest tick (docs/contract.md §4 ClockTicked: a tick cannot be taken back). On
    charger.events, key 'clock'; event_id = uuid5 of 'refused:<tick_id>'."""

    event_type: Literal["TickRefused"] = "TickRefused"
    tick_id: Uuid = Field(description="The refused tick.")
    at: Instant = Field(description="The refused tick's instant.")
    wall_clock: Instant = Field(
        description="The charger's wall clock when it read the tick: what `at` was compared with."
    )
    reason: str = Field(
        max_length=500,
        description="A sentence: how far ahead the tick was, the bound "
        "(CLOCK_MAX_AHEAD_SECONDS) and what to do.",
    )
