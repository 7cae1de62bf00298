"""Allowance messages (docs/contract.md §6): free minutes used by calls, and each grant's
balance."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .envelope import Message
from .fields import (
    Currency,
    CustomerId,
    DestinationPrefix,
    Did,
    Instant,
    Money,
    NonNegativeInt,
    PositiveInt,
    Uuid,
)


class GrantUse(BaseModel):
    """The seconds one grant gave to a call."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    grant_id: Uuid
    seconds: PositiveInt = Field(description="Seconds of the call this grant covered.")
    remaining_seconds: NonNegativeInt = Field(description="Seconds left in the grant after it.")


class FreeMinutesUsed(Message):
    """Free minutes covered (part of) a call. event_id = uuid5 of 'used:<usage_id>'."""

    event_type: Literal["FreeMinutesUsed"] = "FreeMinutesUsed"
    usage_id: Uuid
    customer_id: CustomerId
    did: Did | None
    destination: DestinationPrefix = Field(description="The number called (digits).")
    occurred_at: Instant = Field(description="When the call happened.")
    duration_seconds: NonNegativeInt
    covered_seconds: PositiveInt = Field(description="Seconds the grants covered.")
    amount: Money = Field(description="The call's rated amount.")
    credit: Money = Field(
        description="amount x covered_seconds / duration_seconds, half-even to 6 places: "
        "what the customer gets back."
    )
    currency: Currency
    grants: list[GrantUse] = Field(description="The grants used, in the order used.")


class GrantReturn(BaseModel):
    """What a reversal gave back to one grant a call had used (docs/contract.md §6 Reversal)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    grant_id: Uuid
    seconds_returned: NonNegativeInt = Field(
        description="Seconds of the call given back (the grant was still active)."
    )
    seconds_lost: NonNegativeInt = Field(
        description="Seconds of the call not given back (the grant had expired)."
    )
    remaining_seconds: NonNegativeInt = Field(description="Seconds left in the grant after it.")


class FreeMinutesReturned(Message):
    """A reversed call's free minutes given back (docs/contract.md §6 Reversal), on
    billing.free-minutes-used (key customer_id). event_id = uuid5 of 'returned:<usage_id>';
    only for a call that was covered."""

    event_type: Literal["FreeMinutesReturned"] = "FreeMinutesReturned"
    usage_id: Uuid = Field(description="The call reversed.")
    reversal_id: Uuid = Field(description="The UsageReversed that reversed it.")
    customer_id: CustomerId
    did: Did | None
    credit: Money = Field(description="The call's credit, taken back in full.")
    currency: Currency
    grants: list[GrantReturn] = Field(description="The grants the call used, in that order.")


class AllowanceBalance(Message):
    """A grant's balance, on the compacted billing.allowance-balances (key grant_id).
    event_id = uuid5 of 'balance:<grant_id>:<used_seconds>:<status>', or
    'balance:<grant_id>:<used_seconds>:r<returned_seconds>:<status>' once reversals have
    returned seconds to it."""

    event_type: Literal["AllowanceBalance"] = "AllowanceBalance"
    grant_id: Uuid
    customer_id: CustomerId
    did: Did | None
    assignment_id: Uuid | None = Field(description="Null for a top-up's grant.")
    topup_id: Uuid | None = Field(default=None, description="The top-up granted, else null.")
    destination_prefixes: list[DestinationPrefix] = Field(description="Empty: any destination.")
    valid_from: Instant
    valid_until: Instant
    granted_seconds: NonNegativeInt = Field(description="minutes x 60.")
    used_seconds: NonNegativeInt
    remaining_seconds: NonNegativeInt = Field(description="granted - used - rolled over.")
    returned_seconds: NonNegativeInt = Field(
        default=0, description="Seconds given back by reversals, in all."
    )
    rolled_over_from: Uuid | None = Field(
        default=None, description="The grant a rollover grant carries from, else null."
    )
    rolled_over_seconds: NonNegativeInt = Field(
        default=0,
        description="Seconds this grant carried into a rollover grant (0 until it expires).",
    )
    status: Literal["active", "expired"] = Field(
        description="expired once a ChargesSettled with at >= valid_until was read: no new "
        "call can use it (a late call that occurred inside the window still can)."
    )


class AllowanceThresholdReached(Message):
    """A call first brought a grant's use to one of its notify_at_percent (docs/contract.md §6), on
    billing.allowance-alerts (key customer_id). event_id = uuid5 of
    'threshold:<grant_id>:<percent>'; once per grant and percent, after the call's
    FreeMinutesUsed, in increasing order."""

    event_type: Literal["AllowanceThresholdReached"] = "AllowanceThresholdReached"
    grant_id: Uuid
    customer_id: CustomerId
    did: Did | None
    assignment_id: Uuid | None = Field(description="Null for a top-up's grant.")
    percent: PositiveInt = Field(description="One of the grant's notify_at_percent (1-100).")
    granted_seconds: NonNegativeInt
    used_seconds: NonNegativeInt = Field(description="After the call.")
    remaining_seconds: NonNegativeInt = Field(description="After the call.")
    usage_id: Uuid = Field(description="The call that reached it.")
