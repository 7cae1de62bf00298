"""Allowance messages (CONTRACT.md §6): free minutes used by calls, and each grant's balance."""

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


class AllowanceBalance(Message):
    """A grant's balance, on the compacted billing.allowance-balances (key grant_id).
    event_id = uuid5 of 'balance:<grant_id>:<used_seconds>:<status>'."""

    event_type: Literal["AllowanceBalance"] = "AllowanceBalance"
    grant_id: Uuid
    customer_id: CustomerId
    did: Did | None
    assignment_id: Uuid
    destination_prefixes: list[DestinationPrefix] = Field(description="Empty: any destination.")
    valid_from: Instant
    valid_until: Instant
    granted_seconds: NonNegativeInt = Field(description="minutes x 60.")
    used_seconds: NonNegativeInt
    remaining_seconds: NonNegativeInt
    status: Literal["active", "expired"] = Field(
        description="expired once a ChargesSettled with at >= valid_until was read: no new "
        "call can use it (a late call that occurred inside the window still can)."
    )


class AllowanceThresholdReached(Message):
    """A call first brought a grant's use to one of its notify_at_percent (CONTRACT.md §6), on
    billing.allowance-alerts (key customer_id). event_id = uuid5 of
    'threshold:<grant_id>:<percent>'; once per grant and percent, after the call's
    FreeMinutesUsed, in increasing order."""

    event_type: Literal["AllowanceThresholdReached"] = "AllowanceThresholdReached"
    grant_id: Uuid
    customer_id: CustomerId
    did: Did | None
    assignment_id: Uuid
    percent: PositiveInt = Field(description="One of the grant's notify_at_percent (1-100).")
    granted_seconds: NonNegativeInt
    used_seconds: NonNegativeInt = Field(description="After the call.")
    remaining_seconds: NonNegativeInt = Field(description="After the call.")
    usage_id: Uuid = Field(description="The call that reached it.")
