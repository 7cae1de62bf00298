"""Turning raw message bytes into a message model, or a precise reason why not.

`read(topic, raw)` returns the model, or raises:
- `Unreadable`: not UTF-8 JSON, not an object, an event_type the topic does not carry, a field of
  the wrong JSON type, or an event that breaks its schema. It belongs on `<topic>.dlq`.
- `Rejected`: a readable command that breaks a rule; the sender gets CommandRejected.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pkgshared import topics

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
    CreditDebited,
    FreeMinutesGranted,
    PackageRunReported,
    RunPackage,
)
from .clock import ClockTicked, UsageRated
from .envelope import Message
from .errors import CommandRejected, DeadLetter, FieldError
from .fields import is_type_error

COMMANDS: frozenset[type[Message]] = frozenset(
    {
        DefinePackage,
        RetirePackage,
        AssignPackage,
        ChangeAssignment,
        EndAssignment,
        SetSpendLimit,
        RunPackage,
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
    topics.USAGE_RATED: (UsageRated,),
    topics.CHARGER_COMMANDS: (RunPackage,),
    topics.CHARGER_EVENTS: (PackageRunReported, ChargeDeclined, CommandRejected),
    topics.CREDIT_DEBITED: (CreditDebited,),
    topics.FREE_MINUTES_GRANTED: (FreeMinutesGranted,),
    **{topics.dlq_topic(t): (DeadLetter,) for t in topics.CONSUMED_TOPICS},
}

MESSAGE_TYPES: dict[str, type[Message]] = {
    m.TYPE: m for group in TOPIC_MESSAGES.values() for m in group
}


class Unreadable(Exception):
    """The message cannot be read; it goes to the dead-letter topic."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


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


def decode_json(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        raise Unreadable("empty message (no value)")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise Unreadable(f"not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise Unreadable(f"not a JSON object but a JSON {type(obj).__name__}")
    return obj


def read(topic: str, raw: bytes | None) -> Message:
    """Read one message of `topic` (see the module docstring)."""
    return read_object(topic, decode_json(raw))


def read_object(topic: str, obj: dict[str, Any]) -> Message:
    allowed = TOPIC_MESSAGES.get(topic)
    if allowed is None:
        raise Unreadable(f"topic {topic!r} is not part of the contract")
    event_type = obj.get("event_type")
    model = next((m for m in allowed if event_type == m.TYPE), None)
    if model is None:
        names = ", ".join(m.TYPE for m in allowed)
        raise Unreadable(f"unknown event_type {event_type!r} on {topic} (expected one of {names})")
    try:
        return model.model_validate(obj)
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


def _command_id(obj: dict[str, Any]) -> Any:
    from uuid import UUID

    value = obj.get("event_id")
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None
