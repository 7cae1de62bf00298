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

from collections.abc import Callable
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


_FIELDS = frozenset(UsageRated.model_fields)
_set = object.__setattr__


def _construct(values: dict[str, Any]) -> UsageRated:
    """What `UsageRated.model_construct(**values)` makes when `values` holds every field, set
    as model_construct sets it, without its per-field search for aliases and defaults (a
    quarter of the fast path's time). Checked against model_construct when this module
    loads, and by the property test."""
    message = UsageRated.__new__(UsageRated)
    _set(message, "__dict__", values)
    _set(message, "__pydantic_fields_set__", set(_FIELDS))
    _set(message, "__pydantic_extra__", None)
    _set(message, "__pydantic_private__", None)
    return message


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
    values: dict[str, Any] = {  # in the model's field order, as model_construct keeps them
        "event_id": twin.event_id,
        "schema_version": 1,
        "occurred_at": occurred_at,
        "correlation_id": twin.correlation_id,
        "event_type": "UsageRated",
        "usage_id": twin.usage_id,
        "customer_id": twin.customer_id,
        "did": twin.did,
        "amount": amount,
        "currency": twin.currency,
        "destination": twin.destination,
        "duration_seconds": twin.duration_seconds,
    }
    return _build(values)


def _checked() -> Callable[[dict[str, Any]], UsageRated]:
    """`_construct` when it makes what model_construct makes on this pydantic, else
    model_construct itself."""
    sample: dict[str, Any] = {
        "event_id": UUID(int=1),
        "schema_version": 1,
        "occurred_at": instant_value("2026-01-01T00:00:00Z"),
        "correlation_id": None,
        "event_type": "UsageRated",
        "usage_id": UUID(int=2),
        "customer_id": "c",
        "did": None,
        "amount": Decimal("1.5"),
        "currency": "GBP",
        "destination": None,
        "duration_seconds": None,
    }
    plain = UsageRated.model_construct(**sample)
    made = _construct(dict(sample))
    same = (
        set(sample) == _FIELDS
        and not UsageRated.__pydantic_post_init__
        and made == plain
        and list(made.__dict__.items()) == list(plain.__dict__.items())
        and made.__pydantic_fields_set__ == plain.__pydantic_fields_set__
        and made.to_json() == plain.to_json()
    )
    return _construct if same else lambda values: UsageRated.model_construct(**values)


_build = _checked()
