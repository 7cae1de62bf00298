"""Turning raw message bytes into a message model, or a precise reason why not.

`read(topic, raw)` returns the model, or raises:
- `Unreadable`: not UTF-8 JSON, not an object, an event_type the topic does not carry, a field of
  the wrong JSON type, or an event that breaks its schema. It belongs on `<topic>.dlq`.
- `Rejected`: a readable command that breaks a rule; the sender gets CommandRejected.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pkgcontract import topics

from .allowance import (
    AllowanceBalance,
    AllowanceThresholdReached,
    FreeMinutesReturned,
    FreeMinutesUsed,
)
from .assignment import (
    AssignmentChanged,
    AssignmentEnded,
    AssignPackage,
    ChangeAssignment,
    EndAssignment,
    PackageAssigned,
    SetSpendLimit,
    SpendLimitSet,
)
from .catalog import DefinePackage, PackageDefined, PackageRetired, RetirePackage
from .charger import (
    ChargeDeclined,
    ChargesHeld,
    ChargesReleased,
    ChargesSettled,
    ChargeUpcoming,
    CreditDebited,
    CreditIssued,
    FreeMinutesGranted,
    PackageRunReported,
    ReleaseHeldCharges,
    RunPackage,
    TickRefused,
)
from .envelope import Message
from .errors import CommandRejected, DeadLetter, FieldError
from .fast import usage_rated
from .fields import is_type_error
from .inputs import ClockTicked, UsageRated, UsageReversed
from .strict_json import Unreadable, decode_json
from .topups import GrantMinutes
from .versions import to_current

COMMANDS: frozenset[type[Message]] = frozenset(
    {
        DefinePackage,
        RetirePackage,
        AssignPackage,
        ChangeAssignment,
        EndAssignment,
        SetSpendLimit,
        RunPackage,
        ReleaseHeldCharges,
        GrantMinutes,
    }
)

TOPIC_MESSAGES: dict[str, tuple[type[Message], ...]] = {
    topics.CATALOG_COMMANDS: (DefinePackage, RetirePackage),
    topics.CATALOG_PACKAGES: (PackageDefined, PackageRetired, CommandRejected),
    topics.ASSIGNMENT_COMMANDS: (AssignPackage, ChangeAssignment, EndAssignment, SetSpendLimit),
    topics.ASSIGNMENT_EVENTS: (
        PackageAssigned,
        AssignmentChanged,
        AssignmentEnded,
        SpendLimitSet,
        CommandRejected,
    ),
    topics.CLOCK_TICKS: (ClockTicked,),
    topics.USAGE_RATED: (UsageRated, UsageReversed),
    topics.CHARGER_COMMANDS: (RunPackage, ReleaseHeldCharges, GrantMinutes),
    topics.CHARGER_EVENTS: (
        PackageRunReported,
        ChargeDeclined,
        ChargeUpcoming,
        ChargesHeld,
        ChargesReleased,
        TickRefused,
        CommandRejected,
    ),
    topics.CREDIT_DEBITED: (CreditDebited,),
    topics.FREE_MINUTES_GRANTED: (FreeMinutesGranted,),
    topics.CHARGER_PROGRESS: (ChargesSettled,),
    topics.FREE_MINUTES_USED: (FreeMinutesUsed, FreeMinutesReturned),
    topics.ALLOWANCE_BALANCES: (AllowanceBalance,),
    topics.ALLOWANCE_ALERTS: (AllowanceThresholdReached,),
    topics.CREDITS_ISSUED: (CreditIssued,),
    **{topics.dlq_topic(t): (DeadLetter,) for t in topics.CONSUMED_TOPICS},
}


def topic_schema(topic: str) -> Any:
    """The union of contract topic `topic`'s message types (what its AsyncAPI channel shows)."""
    return functools.reduce(operator.or_, TOPIC_MESSAGES[topic])


MESSAGE_TYPES: dict[str, type[Message]] = {
    m.TYPE: m for group in TOPIC_MESSAGES.values() for m in group
}


_BY_TYPE: dict[str, dict[str, type[Message]]] = {
    topic: {m.TYPE: m for m in models} for topic, models in TOPIC_MESSAGES.items()
}


class Rejected(Exception):
    """A readable command that breaks a rule."""

    def __init__(
        self, command_id: Any, command_type: str, errors: list[FieldError], reason: str = ""
    ) -> None:
        self.command_id = command_id
        self.command_type = command_type
        self.errors = errors
        self.reason = reason or _reason(command_type, errors)
        super().__init__(self.reason)

    def to_event(self, correlation_id: str | None = None) -> CommandRejected:
        return CommandRejected.of(
            self.command_id, self.command_type, self.reason, self.errors, correlation_id
        )


def _reason(command_type: str, errors: list[FieldError]) -> str:
    first = errors[0]
    where = f"{first.field}: " if first.field else ""
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{command_type} rejected: {where}{first.message}{more}."


def field_errors(details: list[ErrorDetails]) -> list[FieldError]:
    out = []
    for d in details:
        field = ".".join(str(p) for p in d["loc"]) or str((d.get("ctx") or {}).get("field", ""))
        out.append(FieldError(field=field, message=d["msg"]))
    return out


FAST_READERS = {topics.USAGE_RATED: usage_rated}
"""Topics whose plainly valid messages are read by a faster path (`fast`); anything else on
them goes the general way."""


def read(
    topic: str, raw: bytes | None, fast_path: bool = True, key: bytes | None = None
) -> Message:
    """Read one message of `topic` (see the module docstring) from a record's value `raw` and,
    when given, its `key`. Never raises anything but Unreadable or Rejected, whatever the
    bytes: anything else that goes wrong while reading makes the record unreadable.
    `fast_path=False`: the general way only."""
    try:
        message = _read(topic, raw, fast_path)
        if key is not None and topic in COMMAND_KEYS:
            _check_key(message, COMMAND_KEYS[topic], key)
        return message
    except (Unreadable, Rejected):
        raise
    except Exception as exc:  # a parser's or validator's own failure must stall nothing
        raise Unreadable(f"cannot be read: {type(exc).__name__}: {str(exc)[:300]}") from exc


def _read(topic: str, raw: bytes | None, fast_path: bool) -> Message:
    fast = FAST_READERS.get(topic) if fast_path else None
    if fast is not None and raw is not None:
        message = fast(raw)
        if message is not None:
            return message
    obj = decode_json(raw)
    # NUL and surrogates can only be written as \u escapes in JSON: most messages hold none,
    # and their strings need no walk.
    return read_object(topic, obj, check_strings=b"\\u" in (raw or b""))


COMMAND_KEYS: dict[str, str] = {
    topic: topics.KEYS[topic]
    for topic, models in TOPIC_MESSAGES.items()
    if all(m in COMMANDS for m in models)
}
"""Command topics and the field each is keyed by (docs/contract.md §3)."""


def _check_key(message: Message, field: str, key: bytes) -> None:
    """A command that carries its topic's key field under another Kafka key is rejected
    (docs/contract.md §2): it would be handled in another partition's order than its field's."""
    value = getattr(message, field, None)
    if not isinstance(value, str) or key == value.encode():
        return
    shown = key.decode("utf-8", "replace")
    shown = shown if len(shown) <= 80 else shown[:80] + "…"
    raise Rejected(
        message.event_id,
        message.TYPE,
        [FieldError(field=field, message=f"differs from the record's Kafka key {shown!r}")],
    )


def read_object(topic: str, obj: dict[str, Any], check_strings: bool = True) -> Message:
    allowed = TOPIC_MESSAGES.get(topic)
    if allowed is None:
        raise Unreadable(f"topic {topic!r} is not part of the contract")
    obj = to_current(obj)
    event_type = obj.get("event_type")
    model = _BY_TYPE[topic].get(event_type) if isinstance(event_type, str) else None
    if model is None:
        names = ", ".join(m.TYPE for m in allowed)
        raise Unreadable(f"unknown event_type {event_type!r} on {topic} (expected one of {names})")
    bad_strings = _bad_strings(obj) if check_strings else []
    try:
        if bad_strings:
            raise Rejected(_command_id(obj), model.TYPE, bad_strings)
        return model.model_validate(obj)
    except Rejected as exc:
        if model not in COMMANDS or exc.command_id is None:
            text = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            raise Unreadable(f"{model.TYPE}: {text}") from exc
        raise
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_input=False)
        type_errors = [d for d in details if is_type_error(d["type"])]
        if type_errors or model not in COMMANDS:
            shown = field_errors(type_errors or details)
            text = "; ".join(f"{e.field or '(message)'}: {e.message}" for e in shown)
            raise Unreadable(f"{model.TYPE}: {text}") from exc
        command_id = _command_id(obj)
        if command_id is None:
            raise Unreadable(f"{model.TYPE} without a valid event_id cannot be answered") from exc
        raise Rejected(command_id, model.TYPE, field_errors(details)) from exc


def _bad_strings(obj: Any, path: str = "") -> list[FieldError]:
    """Strings holding U+0000 or a lone surrogate, which no message may hold (docs/contract.md §2):
    PostgreSQL cannot store the first, UTF-8 cannot encode the second."""
    found: list[FieldError] = []
    if isinstance(obj, str):
        if "\x00" in obj:
            found.append(FieldError(field=path, message="must not hold U+0000 (NUL)"))
        elif _has_surrogate(obj):
            found.append(FieldError(field=path, message="must not hold a lone surrogate"))
    elif isinstance(obj, dict):
        for key, value in obj.items():
            found += _bad_strings(key, f"{path}.{key}".strip(".") + " (name)")
            found += _bad_strings(value, f"{path}.{key}".strip("."))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            found += _bad_strings(value, f"{path}.{i}".strip("."))
    return [f.model_copy(update={"field": f.field[:200]}) for f in found]


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _command_id(obj: dict[str, Any]) -> Any:
    from uuid import UUID

    value = obj.get("event_id")
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None
