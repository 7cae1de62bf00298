"""`pkgctl outcome`: what became of a command pkgctl sent, found by its command id."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from pkgctl.cli import app, fail, run
from pkgctl.resend import sent_around


@app.command("outcome")
def outcome_command(
    command_id: Annotated[str, typer.Argument(help="the command id pkgctl printed")],
) -> None:
    """What became of a command pkgctl sent: its outcome (the event that says it was done, or
    its CommandRejected), found on the topics by its command id. Exit 1 when the command is
    not on the command topics (it was not sent: send it again) or has no outcome yet."""
    from pkgcontract.messages import MESSAGE_TYPES
    from pkgctl import answers, broker
    from pkgctl.sending import report

    try:
        uuid.UUID(command_id)
    except ValueError:
        raise fail(f"command id {command_id!r} is not a UUID", 2) from None
    since = sent_around(command_id)
    found = run(broker.first_sent(command_id, since))
    if found is None:
        after = f" (written since {since.isoformat()})" if since else ""
        raise fail(
            f"no command {command_id} on the command topics{after}: it was not sent, "
            "so sending it again is safe",
            1,
        )
    topic, body = found
    model = MESSAGE_TYPES.get(str(body.get("event_type")))
    from pydantic import ValidationError

    try:
        if model is None:
            raise ValueError(body.get("event_type"))
        message = model.model_validate(body)
    except (ValueError, ValidationError):
        unreadable = f"the message {command_id} on {topic} cannot be read: see `pkgctl dlq`"
        raise fail(unreadable, 1) from None
    answer_topic, success = answers.expected(message)
    answer_topics = answer_topic if isinstance(answer_topic, str) else ", ".join(answer_topic)
    result = answers.outcome(run(broker.read_since(answer_topic, since)), command_id, success)
    if result is None:
        raise fail(
            f"{message.TYPE} {command_id} was sent to {topic}; no outcome on {answer_topics} "
            "yet (is its service running?)",
            1,
        )
    report(result)
