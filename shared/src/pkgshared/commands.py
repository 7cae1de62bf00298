"""The skeleton of every command consumer: a batch of commands, each handled once.

A command id already handled with the same body is a redelivery or a sender's retry: ignored.
The same id with another body is answered with CommandRejected ("event_id already used for a
different command") and changes nothing (docs/contract.md §2). Every other command is applied in
order; one that breaks a rule is rejected.

A command that cannot be judged yet (`prepare` says until when it may wait) is held back
(pkgshared.holding) with its key's later commands, in order; other keys' commands go on."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import structlog

from pkgcontract.messages import CommandRejected, FieldError, Message, natural_event_id
from pkgshared.exceptions import RetryLater, RuleBroken, rejection
from pkgshared.holding import HeldRecords
from pkgshared.incoming import BatchHandler, Incoming

log = structlog.get_logger(__name__)

Apply = Callable[[Any, Message, str], Awaitable[None]]
"""apply(uow, command, key): change state and emit events; raise RuleBroken to reject."""
Reject = Callable[[Any, Message, str, RuleBroken], Awaitable[None]]
"""reject(uow, command, key, broken): emit the rejection (and what must follow it)."""

REUSED_ID = "event_id already used for a different command"


def body_digest(cmd: Message) -> bytes:
    """What identifies a command's body: every field but when it was sent."""
    body = cmd.model_dump_json(exclude={"occurred_at", "correlation_id"})
    return hashlib.sha256(body.encode()).digest()


Prepare = Callable[[Any, list[Message]], Awaitable[Mapping[UUID, float] | None]]
"""prepare(uow, commands): read what the batch's commands need at once (before any is applied);
returns the commands that must wait (by event_id), each with the moment its wait ends."""


def command_batches(
    topic: str,
    rejections_topic: str,
    apply: Apply,
    reject: Reject | None = None,
    prepare: Prepare | None = None,
    held: HeldRecords | None = None,
) -> BatchHandler:
    """The batch handler of command topic `topic` (see the module docstring); `held` keeps
    the commands that wait (without it, the whole poll comes again)."""

    async def default_reject(uow: Any, cmd: Message, key: str, broken: RuleBroken) -> None:
        uow.emit(rejections_topic, key, rejection(cmd, broken))

    rejecting = reject or default_reject

    async def handle(uow: Any, batch: list[Incoming]) -> None:
        commands = [(item, item.message) for item in batch if item.message is not None]
        known = await uow.processed_digests([cmd.event_id for _, cmd in commands])
        waits = (await prepare(uow, [cmd for _, cmd in commands]) if prepare else None) or {}
        if waits and held is None:
            raise RetryLater(f"{len(waits)} command(s) cannot be judged yet")
        handled: list[tuple[Any, bytes]] = []
        for item, cmd in commands:
            digest = body_digest(cmd)
            context = {
                **item.where(),
                "event_id": str(cmd.event_id),
                "event_type": cmd.TYPE,
                "correlation_id": cmd.correlation_id,
            }
            with structlog.contextvars.bound_contextvars(**context):
                if cmd.event_id in known:
                    seen = known[cmd.event_id]
                    if seen is None or seen == digest:
                        uow.note("ignored")
                        log.info("duplicate command ignored", command_id=str(cmd.event_id))
                    else:
                        uow.emit(rejections_topic, item.key, reused_id_rejection(cmd, digest))
                        uow.note("rejected")
                        log.info("command rejected", reason=REUSED_ID)
                    continue
                # Ignored or refused at once above: no state changes, no order to keep.
                if held is not None and (cmd.event_id in waits or held.holds(item.key)):
                    until = waits.get(cmd.event_id)
                    held.hold(item, until)
                    uow.note("held")
                    log.debug(
                        "command waits" if until else "command waits behind its key's first",
                        key=item.text_key[:128],
                    )
                    continue
                known[cmd.event_id] = digest
                handled.append((cmd.event_id, digest))
                try:
                    await apply(uow, cmd, item.text_key)
                except RuleBroken as broken:
                    await rejecting(uow, cmd, item.text_key, broken)
                    uow.note("rejected")
                    log.info("command rejected", command_type=cmd.TYPE, reason=broken.reason)
        await uow.record_processed(topic, handled)

    return handle


def reused_id_rejection(cmd: Message, digest: bytes) -> CommandRejected:
    return CommandRejected(
        # Not rejected:<id>: the command first sent under this id may have been rejected too.
        event_id=natural_event_id(f"reused:{cmd.event_id}:{digest.hex()}"),
        command_id=cmd.event_id,
        command_type=cmd.TYPE,
        reason=f"{cmd.TYPE} rejected: {REUSED_ID}.",
        errors=[FieldError(field="event_id", message=REUSED_ID)],
        correlation_id=cmd.correlation_id,
    )


def utc_today() -> date:
    """The UTC date now: the default `effective_from` / `end_date` of commands (CONTRACT §4).
    Only the catalog and assignment services use it; the charger follows clock ticks."""
    return datetime.now(UTC).date()
