"""Building a command from options (every field checked, errors named by the option that
sets it) and sending it, waiting for what answers it."""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer

from pkgctl import api, render
from pkgctl.cli import Options, emit_json, err, fail, out, run
from pkgctl.resend import Ids, announce, guidance, sent_around

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
    "assignment_id": "ASSIGNMENT_ID / --assignment-id",
    "event_id": "--command-id",
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


def send_and_report(key: str, message: Message, wait: bool, timeout: float, ids: Ids) -> None:
    """Send `message` keyed `key` (see `deliver`) and print what answers it (exit 1 if
    rejected), or with --no-wait that it was sent."""
    found = deliver(key, message, wait, timeout, ids)
    if found is None:
        if Options.json:
            emit_json(json.loads(message.to_json()))
        else:
            out.print(
                f"sent {message.TYPE} {message.event_id} (correlation_id {message.correlation_id})"
            )
        return
    report(found)


def report(found: dict[str, Any]) -> None:
    """Print a command's outcome: its event, or its rejection (then exit 1)."""
    rejected = found.get("event_type") == "CommandRejected"
    if Options.json:
        emit_json(found)
    elif rejected:
        render.rejection(err, found)
    elif found.get("event_type") == "PackageRunReported":
        render.run_report(out, found, False)
    else:
        render.event(out, found)
    if rejected:
        raise typer.Exit(1)


def deliver(key: str, message: Message, wait: bool, timeout: float, ids: Ids) -> Any:
    """Say the command's ids, send it keyed `key` and, with `wait`, return its outcome (the
    event that says it was done, or its CommandRejected). A command sent again under its
    command id with the same body is ignored by its service: then the outcome of its first
    sending is returned. When no outcome comes (or Kafka cannot be reached), say how to see
    what became of it and the line that sends it again as the same command; exit 1."""
    from pkgcontract.messages.reading import TOPIC_MESSAGES
    from pkgctl import answers, broker

    announce(message.TYPE, ids)
    topic = next(t for t, types in TOPIC_MESSAGES.items() if type(message) in types)
    try:
        since = None
        if ids.given and wait:
            message, since = _sent_before(message, topic)
        answered_on, success = answers.expected(message)
        watched = answered_on if wait else None
        return run(broker.send(topic, key, message, watched, timeout, success, since))
    except typer.Exit:
        guidance(ids)
        raise


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""Read from the start (a command id that is not a UUIDv7 says nothing of when it was made)."""


def _sent_before(message: Message, topic: str) -> tuple[Message, datetime | None]:
    """`message` and from when its outcome is to be looked for: when a command with its id
    was sent before with the same body, from the first sending on (and with the first's
    occurred_at and correlation_id, which its outcome carries: the same bytes); else only
    what comes after this sending."""
    from pkgcontract.messages import MESSAGE_TYPES
    from pkgctl import broker
    from pkgshared.commands import body_digest

    command_id = str(message.event_id)
    since = sent_around(command_id) or EPOCH
    first = run(broker.first_sent(command_id, since, (topic,)))
    if first is None:
        return message, None
    from pydantic import ValidationError

    earlier: Message | None = None
    if first[1].get("event_type") == message.TYPE:
        with contextlib.suppress(ValidationError):
            earlier = MESSAGE_TYPES[message.TYPE].model_validate(first[1])
    if earlier is None or body_digest(earlier) != body_digest(message):
        err.print(
            f"[yellow]warning:[/] command id {command_id} was sent before with another body: "
            "its service will reject this one (give no --command-id to send a new command)"
        )
        return message, None
    err.print(
        f"note: this command was sent before (at {earlier.occurred_at.isoformat()}); "
        "the outcome of that first sending is looked for too"
    )
    # The first sending's envelope too: the very bytes sent before.
    same = message.model_copy(
        update={"correlation_id": earlier.correlation_id, "occurred_at": earlier.occurred_at}
    )
    return same, since


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
