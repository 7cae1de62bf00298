"""Top-ups (docs/contract.md §4 GrantMinutes): minutes bought or given once, outside any package."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from .envelope import Message, envelope_required
from .fields import (
    Currency,
    CustomerId,
    DestinationPrefix,
    Did,
    FreeMinutes,
    Instant,
    NonNegativeInputMoney,
    Text,
    Uuid,
    rule_error,
)
from .term_rules import Percents

MAX_TOPUP_DAYS = 366
"""A top-up's window: valid_until at most this many days after valid_from (docs/contract.md §4)."""


def topup_rules(schema: dict[str, Any]) -> None:
    """GrantMinutes's JSON Schema: retail needs a currency (the window's bounds are checked
    in code)."""
    envelope_required(schema)
    schema["dependentRequired"] = {"retail": ["currency"]}


class GrantMinutes(Message):
    """A top-up (docs/contract.md §4): minutes bought or given once, outside any package. Due at
    valid_from like a period's charge; the same topup_id grants once."""

    model_config = ConfigDict(json_schema_extra=topup_rules)

    event_type: Literal["GrantMinutes"] = "GrantMinutes"
    topup_id: Uuid = Field(description="Chosen by the sender: the same top-up grants once.")
    customer_id: CustomerId
    did: Did | None = None
    minutes: FreeMinutes = Field(description="1-1,000,000.")
    destination_prefixes: list[DestinationPrefix] | None = Field(
        default=None, description="Destinations the minutes apply to; empty or absent: any."
    )
    valid_from: Instant = Field(description="When the top-up is due and its minutes start.")
    valid_until: Instant = Field(
        description="When its minutes expire: after valid_from, at most 366 days after it."
    )
    retail: NonNegativeInputMoney | None = Field(
        default=None, description="The price of the top-up (with currency); > 0: a debit."
    )
    currency: Currency | None = Field(default=None, description="Required with retail.")
    notify_at_percent: Percents = Field(
        default_factory=list,
        description="Percents of use that send AllowanceThresholdReached (1 to 5 distinct, 1-100).",
    )
    reason: Text | None = Field(default=None, max_length=200, description="Why (free text).")

    @model_validator(mode="after")
    def _topup_rules(self) -> Self:
        if self.valid_until <= self.valid_from:
            raise rule_error("valid_until", "must be after valid_from", "valid_until")
        if self.valid_until > self.valid_from + timedelta(days=MAX_TOPUP_DAYS):
            raise rule_error(
                "valid_until",
                f"must be at most {MAX_TOPUP_DAYS} days after valid_from",
                "valid_until",
            )
        if self.retail is not None and self.currency is None:
            raise rule_error("currency", "is required with retail", "currency")
        return self
