"""Building a command from options (every field checked, errors named by the option that
sets it) and sending it, waiting for what answers it."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import typer

from pkgcontract import topics
from pkgctl import api, render
from pkgctl.cli import Options, emit_json, err, fail, out, run

if TYPE_CHECKING:
    from pkgcontract.messages import Message


def build(model: type[Message], keep_none: frozenset[str] = frozenset(), **fields: Any) -> Message:
    """The message, or exit 2 naming every field that is wrong. Options left out (None) are
    left out of the message, except those in `keep_none` (an explicit null)."""
    from pydantic import ValidationError

    from pkgcontract.messages import field_errors

    fields.setdefault("correlation_id", str(uuid.uuid4()))
    try:
        return model.model_validate(
            {k: v for k, v in fields.items() if v is not None or k in keep_none}
        )
    except ValidationError as exc:
        lines = [
            f"  {_flag(e.field)}: {_plain(e.field, e.message)}"
            for e in field_errors(exc.errors(include_url=False))
        ]
        raise fail(f"invalid {model.TYPE}:\n" + "\n".join(lines), 2) from None


FLAGS = {
    "package_id": "PACKAGE_ID / --package",
    "customer_id": "--customer",
    "start_date": "--start",
    "end_date": "--end",
    "frequency_match": "--match",
    "destination_prefixes": "--prefix",
    "notify_at_percent": "--notify-at",
    "monthly_limit": "--limit",
    "at": "--at",
    "assignment_id": "ASSIGNMENT_ID",
}
"""The option (or argument) that sets each field, where it is not --<field with dashes>."""

SHAPES = {
    "package_id": "1 to 64 letters, digits, '_', '.' or '-'",
    "customer_id": "1 to 64 characters, no control characters",
    "did": "6 to 15 digits (E.164 without '+')",
    "currency": "an ISO 4217 code: 3 capital letters",
    "destination_prefixes": "1 to 15 digits each",
    "name": "text without control characters",
}
"""What a field's pattern asks, in words (pydantic says it with the regular expression)."""


def _flag(field: str) -> str:
    if not field:
        return "(command)"
    top, _, rest = field.partition(".")
    flag = FLAGS.get(top, "--" + top.replace("_", "-"))
    return f"{flag} (item {int(rest) + 1})" if rest.isdigit() else flag


def _plain(field: str, message: str) -> str:
    top = field.partition(".")[0]
    if "should match pattern" in message and top in SHAPES:
        return f"must be {SHAPES[top]}"
    return message


ANSWERS = {
    topics.CATALOG_COMMANDS: topics.CATALOG_PACKAGES,
    topics.ASSIGNMENT_COMMANDS: topics.ASSIGNMENT_EVENTS,
    topics.CHARGER_COMMANDS: topics.CHARGER_EVENTS,
    topics.USAGE_RATED: topics.FREE_MINUTES_USED,
}
"""Where the outcome of what pkgctl sends (or its rejection) is published."""


def send_and_report(key: str, message: Message, wait: bool, timeout: float, **success: Any) -> None:
    """Send `message` to its command topic, keyed `key`; with `wait`, print the event that
    answers it, the first on the topic's answers matching `success` (exit 1 if rejected)."""
    from pkgcontract.messages.reading import TOPIC_MESSAGES
    from pkgctl import broker

    topic = next(t for t, types in TOPIC_MESSAGES.items() if type(message) in types)
    answers = ANSWERS[topic] if wait else None
    outcome = run(broker.send(topic, key, message, answers, timeout, success))
    if outcome is None:
        if Options.json:
            emit_json(json.loads(message.to_json()))
        else:
            out.print(
                f"sent {message.TYPE} {message.event_id} (correlation_id {message.correlation_id})"
            )
        return
    rejected = outcome.get("event_type") == "CommandRejected"
    if Options.json:
        emit_json(outcome)
    elif rejected:
        render.rejection(err, outcome)
    else:
        render.event(out, outcome)
    if rejected:
        raise typer.Exit(1)


def customer_of(assignment_id: str, given: str | None) -> str:
    """The assignment's customer (its commands' key), from the assignment service's read API:
    a command keyed by the wrong customer would land on another partition than that
    customer's other commands, and be ordered against them by nothing."""
    try:
        uuid.UUID(assignment_id)
    except ValueError:
        raise fail(f"assignment_id {assignment_id!r} is not a UUID", 2) from None
    try:
        found = api.get("assignment", f"/assignments/{assignment_id}")
    except api.ApiUnreachable as exc:
        if given is None:
            raise fail(f"{exc}; or give --customer", 1) from None
        err.print(f"[yellow]warning:[/] could not check --customer {given}: {exc}")
        return given
    if found is None:
        raise fail(f"the assignment service knows no assignment {assignment_id}", 1)
    if given is not None and given != found["customer_id"]:
        raise fail(
            f"assignment {assignment_id} belongs to customer {found['customer_id']!r}, "
            f"not {given!r}",
            2,
        )
    return str(found["customer_id"])
