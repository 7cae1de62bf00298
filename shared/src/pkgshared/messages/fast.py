"""A fast path for reading the stream's hottest message, UsageRated (every rated call, read by
the charger and the allowance service).

The general reader (`reading.read`) parses JSON with the standard library and validates with
the contract's models, whose identifiers, instants and money go through Python validators so
that a wrong JSON type and a broken rule are told apart. That costs about 35 us a record. Here
pydantic parses the JSON and checks the plain fields in Rust, strictly, against a twin of the
model; instants and money then go through the very same validators as the model's. Anything
the twin does not accept as plainly valid returns None, and the general reader decides (with
its precise error): the fast path may only accept less, never more, and what it accepts is
equal to what the general reader gives (a property test holds it to that)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from .fields import (
    Currency,
    CustomerId,
    DestinationPrefix,
    Did,
    NonNegativeInt,
    instant_value,
    money_value,
)
from .inputs import UsageRated

MAX_BRACKETS = 32
"""More brackets than this (the reader's nesting bound) and the general reader decides."""


class _UsageTwin(BaseModel):
    """UsageRated's fields as JSON carries them, checked strictly; not a contract model."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    event_id: UUID
    event_type: Literal["UsageRated"]
    schema_version: Literal[1] = 1
    occurred_at: str
    correlation_id: str | None = Field(default=None, max_length=200)
    usage_id: UUID
    customer_id: CustomerId
    did: Did | None = None
    amount: str
    currency: Currency
    destination: DestinationPrefix | None = None
    duration_seconds: NonNegativeInt | None = None


_FIELDS = tuple(UsageRated.model_fields)


def usage_rated(raw: bytes) -> UsageRated | None:
    """`raw` as a UsageRated when it plainly is one, else None (the general reader decides)."""
    # \u escapes may hide NUL or a lone surrogate, which the general reader refuses.
    if b"\\u" in raw or raw.count(b"[") + raw.count(b"{") > MAX_BRACKETS:
        return None
    try:
        text = raw.decode("utf-8")
        twin = _UsageTwin.model_validate_json(text)
        occurred_at: datetime = instant_value(twin.occurred_at)
        amount: Decimal = money_value(twin.amount)
    except (ValueError, ValidationError, PydanticCustomError):
        return None
    values: dict[str, Any] = {
        "event_id": twin.event_id,
        "event_type": "UsageRated",
        "schema_version": 1,
        "occurred_at": occurred_at,
        "correlation_id": twin.correlation_id,
        "usage_id": twin.usage_id,
        "customer_id": twin.customer_id,
        "did": twin.did,
        "amount": amount,
        "currency": twin.currency,
        "destination": twin.destination,
        "duration_seconds": twin.duration_seconds,
    }
    assert len(values) == len(_FIELDS)
    return UsageRated.model_construct(**values)
