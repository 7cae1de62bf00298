"""Messages from outside the system: clock ticks and rated usage (docs/contract.md §4)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .envelope import Message
from .fields import (
    CallSeconds,
    Currency,
    CustomerId,
    DestinationPrefix,
    Did,
    InputMoney,
    Instant,
    Uuid,
)


class ClockTicked(Message):
    """The charger's only notion of time."""

    event_type: Literal["ClockTicked"] = "ClockTicked"
    tick_id: Uuid
    at: Instant = Field(description="Everything due at or before this instant is charged.")


class UsageRated(Message):
    """A rated call; counts towards minimum-spend packages. `occurred_at` is the call's time."""

    event_type: Literal["UsageRated"] = "UsageRated"
    usage_id: Uuid = Field(description="A repeat is ignored.")
    occurred_at: Instant = Field(description="When the call happened.")
    customer_id: CustomerId
    did: Did | None = None
    amount: InputMoney = Field(description="At most 10 digits before the point.")
    currency: Currency
    destination: DestinationPrefix | None = None
    duration_seconds: CallSeconds | None = Field(
        default=None, description="With destination, makes the record a call: 0 to 604800."
    )


class UsageReversed(Message):
    """The rater withdrew a UsageRated (docs/contract.md §4 Usage): read in its customer's order;
    for minimum spend its amount stops counting in a period not charged yet, and the allowance
    gives back what the call used (§6). A repeated reversal_id, a record never read or one
    already reversed changes nothing."""

    event_type: Literal["UsageReversed"] = "UsageReversed"
    reversal_id: Uuid = Field(description="A repeat is ignored.")
    usage_id: Uuid = Field(description="The UsageRated it takes back.")
    customer_id: CustomerId
