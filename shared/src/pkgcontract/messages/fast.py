"""A fast path for reading the stream's hottest message, UsageRated (every rated call, read by
the charger and the allowance service).

The general reader (`reading.read`) parses JSON with the standard library and validates with
the contract's models, whose identifiers, instants and money go through Python validators so
that a wrong JSON type and a broken rule are told apart, which is slow for the hottest topic
(docs/benchmarks.md, "Micro-costs"). Here
pydantic parses the JSON and checks the plain fields in Rust, strictly, against a twin of the
model; instants and money then go through the very same validators as the model's. Anything
the twin does not accept as plainly valid returns None, and the general reader decides (with
its precise error): the fast path may only accept less, never more, and what it accepts is
equal to what the general reader gives (a property test holds it to that)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, NotRequired
from uuid import UUID

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from .fields import (
    CallSeconds,
    Currency,
    CustomerId,
    DestinationPrefix,
    Did,
    input_money_value,
    instant_value,
)
from .inputs import UsageRated

MAX_BRACKETS = 32
"""More brackets than this (the reader's nesting bound) and the general reader decides."""


class _UsageTwin(TypedDict):
    """UsageRated's fields as JSON carries them, checked strictly; not a contract model. A
    TypedDict rather than a model: validated into a plain dict, it is faster than a model."""

    __pydantic_config__ = ConfigDict(strict=True, extra="ignore")  # type: ignore[misc]

    event_id: UUID
    event_type: Literal["UsageRated"]
    schema_version: NotRequired[Literal[1]]
    occurred_at: str
    correlation_id: NotRequired[Annotated[str, Field(max_length=200)] | None]
    usage_id: UUID
    customer_id: CustomerId
    did: NotRequired[Did | None]
    amount: str
    currency: Currency
    destination: NotRequired[DestinationPrefix | None]
    duration_seconds: NotRequired[CallSeconds | None]


_TWIN = TypeAdapter(_UsageTwin)


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
    # Another message on the topic (a UsageReversed) is not one: its event_type cannot be
    # "UsageRated" without those bytes (an escaped one has a backslash: the general reader).
    if b'"UsageRated"' not in raw:
        return None
    # \u escapes may hide NUL or a lone surrogate, which the general reader refuses (a
    # backslash is rare: looking for one first is the cheaper test).
    if (b"\\" in raw and b"\\u" in raw) or raw.count(b"[") + raw.count(b"{") > MAX_BRACKETS:
        return None
    try:
        twin = _TWIN.validate_json(raw)  # refuses bytes that are not UTF-8
        occurred_at: datetime = instant_value(twin["occurred_at"])
        amount: Decimal = input_money_value(twin["amount"])
    except (ValueError, ValidationError, PydanticCustomError):
        return None
    # Every key is followed by a colon. With the colons of the string values the twin kept,
    # the count is exact only when the text has no other key: none given twice (the parser
    # keeps the last) and none the twin does not know. Otherwise the general reader decides.
    colons = (
        len(twin)
        + twin["occurred_at"].count(":")
        + twin["customer_id"].count(":")
        + (twin.get("correlation_id") or "").count(":")
    )
    if raw.count(b":") != colons:
        return None
    get = twin.get
    values: dict[str, Any] = {  # in the model's field order, as model_construct keeps them
        "event_id": twin["event_id"],
        "schema_version": 1,
        "occurred_at": occurred_at,
        "correlation_id": get("correlation_id"),
        "event_type": "UsageRated",
        "usage_id": twin["usage_id"],
        "customer_id": twin["customer_id"],
        "did": get("did"),
        "amount": amount,
        "currency": twin["currency"],
        "destination": get("destination"),
        "duration_seconds": get("duration_seconds"),
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
