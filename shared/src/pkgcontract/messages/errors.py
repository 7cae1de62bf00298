"""Error messages (docs/contract.md §4 Errors)."""

from __future__ import annotations

import base64
import hashlib
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from .envelope import Message
from .fields import Uuid, natural_event_id


class FieldError(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str = Field(description="Dotted path of the offending field; empty for the whole.")
    message: str


class CommandRejected(Message):
    """A well-formed command that breaks a rule."""

    event_type: Literal["CommandRejected"] = "CommandRejected"
    command_id: Uuid = Field(description="The rejected command's event_id.")
    command_type: StrictStr
    reason: StrictStr = Field(description="One sentence.")
    errors: list[FieldError]

    @classmethod
    def of(
        cls,
        command_id: UUID,
        command_type: str,
        reason: str,
        errors: list[FieldError],
        correlation_id: str | None = None,
    ) -> CommandRejected:
        """The rejection of a command, with an id derived from the command's: rejecting the
        same command again (a redelivery) repeats the same event."""
        return cls(
            event_id=natural_event_id(f"rejected:{command_id}"),
            command_id=command_id,
            command_type=command_type,
            reason=reason,
            errors=errors,
            correlation_id=correlation_id,
        )


MAX_DEAD_PAYLOAD = 256 * 1024
"""Bytes of the original message a DeadLetter keeps (docs/contract.md §4 Errors)."""
MAX_DEAD_KEY = 1024
MAX_DEAD_ERROR = 4096


class DeadLetter(Message):
    """A message that could not be read at all, or whose handling failed the same way on every
    retry, kept with (the first 256 KiB of) its original bytes."""

    event_type: Literal["DeadLetter"] = "DeadLetter"
    source_topic: StrictStr
    partition: int
    offset: int
    key: str | None = Field(description="The source record's key (its first 1,024 characters).")
    payload_base64: StrictStr = Field(
        description="The original bytes, base64; cut to their first 256 KiB when longer."
    )
    payload_size: int | None = Field(default=None, description="Size of the original, bytes.")
    payload_sha256: str | None = Field(default=None, description="SHA-256 of the original, hex.")
    error: StrictStr
    consumer: str | None = Field(
        default=None,
        description="The consumer group that could not handle it: a topic read by two services "
        "(catalog.packages) may get a dead letter of the same record from each.",
    )

    @classmethod
    def of(
        cls,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        error: str,
        consumer: str | None = None,
    ) -> DeadLetter:
        """The dead letter of one record; its id is derived from where the record is (and who
        read it), so writing it again (a redelivery) repeats the same event."""
        payload = value or b""
        return cls(
            event_id=natural_event_id(f"dead:{consumer or ''}:{topic}:{partition}:{offset}"),
            consumer=consumer,
            source_topic=topic,
            partition=partition,
            offset=offset,
            key=None if key is None else key.decode("utf-8", "replace")[:MAX_DEAD_KEY],
            payload_base64=base64.b64encode(payload[:MAX_DEAD_PAYLOAD]).decode(),
            payload_size=len(payload),
            payload_sha256=hashlib.sha256(payload).hexdigest(),
            error=error[:MAX_DEAD_ERROR],
        )
