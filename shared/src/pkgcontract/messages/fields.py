"""Field types of the contract (docs/contract.md §2), shared by every message.

Validation is split in two on purpose. An error whose pydantic type ends in ``_type`` means the
JSON value has the wrong JSON type (a number where a string belongs): the message cannot be read
and goes to the dead-letter topic. Any other error (a range, a pattern, a date that does not
exist, a missing field) is a rule a readable command breaks: it gets CommandRejected.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from pkgcontract import money

from .writing import instant_str as instant_str  # the Instant field's serializer
from .writing import json_text as json_text
from .writing import natural_event_id as natural_event_id
from .writing import natural_event_id_str as natural_event_id_str

MAX_MONEY_PLACES = money.PLACES
_MONEY_RE = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")  # fullmatch; places, digits counted next
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# docs/contract.md §2: every date and instant lies in these bounds, so that every date computation
# (a period after the last one, a zone's offset at the ends) stays inside Python's calendar.
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
_EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
_AFTER_LATEST_INSTANT = datetime(3000, 1, 1, tzinfo=UTC)


def type_error(kind: str, expected: str) -> PydanticCustomError:
    """An error that makes a message unreadable (see the module docstring)."""
    return PydanticCustomError(f"{kind}_type", "expected {expected}", {"expected": expected})


def rule_error(kind: str, message: str, field: str | None = None) -> PydanticCustomError:
    """A rule a readable command breaks; `field` names it when raised by a model validator."""
    return PydanticCustomError(kind, message, {"field": field} if field else None)


def is_type_error(error_type: str) -> bool:
    return error_type.endswith("_type")


# ---------------------------------------------------------------- money
# Two bounds (docs/contract.md §2): money a command or a usage record brings in has at most
# money.INPUT_DIGITS digits before the point (InputMoney); what the system publishes, computed
# exactly from it, at most money.PUBLISHED_DIGITS (Money). Both at most 6 places.
def _money_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return value
    raise type_error("money", 'money as a JSON string such as "9.99"')


def _checked_money(value: Any, digits: int, where: str) -> Decimal:
    text = _money_text(value)
    shape = _MONEY_RE.fullmatch(text)
    if shape is None or len(shape.group(2) or "") > MAX_MONEY_PLACES:
        raise rule_error(
            "money_format",
            f"money must be a decimal number with at most {MAX_MONEY_PLACES} decimal places",
        )
    if len(shape.group(1)) > digits:
        raise rule_error(
            "money_range",
            f"money {where} has at most {digits} digits before the point (below {10**digits:,})",
        )
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise rule_error("money_format", "not a decimal number") from exc


def money_value(value: Any) -> Decimal:
    """A published Money field's validation: a JSON string of a decimal number (or a
    Decimal), at most 6 places and money.PUBLISHED_DIGITS digits before the point."""
    return _checked_money(value, money.PUBLISHED_DIGITS, "the system publishes")


def input_money_value(value: Any) -> Decimal:
    """An InputMoney field's validation (a command's or a usage record's money): as
    `money_value`, with at most money.INPUT_DIGITS digits before the point."""
    return _checked_money(value, money.INPUT_DIGITS, "in a command or usage record")


money_str = money.money_str


def money_pattern(digits: int, signed: bool = True) -> str:
    """The JSON schema pattern of money with at most `digits` digits before the point."""
    sign = "-?" if signed else ""
    return rf"^{sign}[0-9]{{1,{digits}}}(\.[0-9]{{1,{MAX_MONEY_PLACES}}})?$"


def _schema(digits: int, signed: bool) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": money_pattern(digits, signed),
            "description": f"decimal number{'' if signed else ' >= 0'} as a string, at most "
            f"{MAX_MONEY_PLACES} decimal places and {digits} digits before the point",
            "examples": ["9.99"],
        }
    )


_SERIALIZER = PlainSerializer(money_str, return_type=str, when_used="always")

Money = Annotated[
    Decimal,
    BeforeValidator(money_value),
    _SERIALIZER,
    _schema(money.PUBLISHED_DIGITS, signed=True),
]
"""Money the system publishes (computed or carried): up to 24 digits before the point."""


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise rule_error("money_negative", "must be >= 0")
    return value


NonNegativeMoney = Annotated[
    Money, AfterValidator(_non_negative), _schema(money.PUBLISHED_DIGITS, signed=False)
]

InputMoney = Annotated[
    Decimal,
    BeforeValidator(input_money_value),
    _SERIALIZER,
    _schema(money.INPUT_DIGITS, signed=True),
]
"""Money in a command or a usage record: at most 10 digits before the point; more is
rejected (a command) or dead-lettered (a usage record)."""

NonNegativeInputMoney = Annotated[
    InputMoney, AfterValidator(_non_negative), _schema(money.INPUT_DIGITS, signed=False)
]


# ---------------------------------------------------------------- dates and instants
def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise type_error("date", "a date YYYY-MM-DD")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise type_error("date", "a date as a string YYYY-MM-DD")
    if not _DATE_RE.match(value):
        raise rule_error("date_format", "must be a date YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise rule_error("date_invalid", f"not a calendar date: {exc}") from exc
    if not EARLIEST <= parsed <= LATEST:
        raise rule_error("date_range", f"must lie between {EARLIEST} and {LATEST}")
    return parsed


Day = Annotated[
    date,
    BeforeValidator(_date),
    PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-01-15"]}),
]


def instant_value(value: Any) -> datetime:
    """An Instant field's validation: an RFC 3339 string with an offset, within the bounds,
    as a UTC datetime."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise rule_error("instant_format", "must be an RFC 3339 instant") from exc
    else:
        raise type_error("instant", "an RFC 3339 instant as a string")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise rule_error("instant_naive", "an instant needs a UTC offset, e.g. 'Z'")
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 is before the calendar's start
        raise rule_error("instant_range", f"must lie between {EARLIEST} and {LATEST}") from exc
    if not _EARLIEST_INSTANT <= utc < _AFTER_LATEST_INSTANT:
        raise rule_error("instant_range", f"must lie between {EARLIEST} and {LATEST} (UTC)")
    return utc


Instant = Annotated[
    datetime,
    BeforeValidator(instant_value),
    PlainSerializer(instant_str, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-01-15T00:00:00Z"]}),
]


# ---------------------------------------------------------------- identifiers
def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise type_error("uuid", "a UUID as a string")
    try:
        return UUID(value)
    except ValueError as exc:
        raise rule_error("uuid_format", "must be a UUID") from exc


Uuid = Annotated[
    UUID,
    BeforeValidator(_uuid),
    PlainSerializer(str, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "format": "uuid"}),
]

PackageId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", min_length=1, max_length=64)]
# Ids and keys hold no control characters (docs/contract.md §2); free text may hold tab and line
# breaks. NUL and lone surrogates are refused in every string when the message is read
# (pkgcontract.messages.reading), before any field is looked at.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
CustomerId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=NO_CONTROL, description="1-64 chars")
]
Text = Annotated[StrictStr, Field(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
"""Free text (a name, a description): no control character but tab and line breaks."""
Did = Annotated[
    str, Field(pattern=r"^[0-9]{6,15}$", description="E.164 without '+', 6 to 15 digits")
]
DestinationPrefix = Annotated[str, Field(pattern=r"^[0-9]{1,15}$")]
Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code", examples=["GBP"])
]
Quantity = Annotated[StrictInt, Field(ge=1, le=100_000)]
FreeMinutes = Annotated[StrictInt, Field(ge=1, le=1_000_000)]
"""A package's or an assignment's free minutes per period (docs/contract.md §4): bounded, so that
free_minutes x quantity (at most 10^11) is stored whole."""
CallSeconds = Annotated[StrictInt, Field(ge=0, le=604_800)]
"""A call's duration_seconds (docs/contract.md §4): at most a week."""
PositiveInt = Annotated[StrictInt, Field(ge=1)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0)]
Flag = StrictBool


def _zone_names() -> frozenset[str]:
    """The IANA database's zone and link names as the tzdata package lists them: not the
    files beside them (`posixrules`, `zone.tab`), nor paths that happen to open a file."""
    return frozenset(resources.files("tzdata").joinpath("zones").read_text().split())


ZONE_NAMES = _zone_names()


def _timezone(value: str) -> str:
    if value not in ZONE_NAMES:
        raise rule_error("timezone_unknown", f"unknown IANA time zone {value[:64]!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise rule_error("timezone_unknown", f"unknown IANA time zone {value!r}") from exc
    return value


TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=NO_CONTROL, examples=["UTC", "Europe/London"]),
    AfterValidator(_timezone),
]
