"""Error messages (CONTRACT.md §4 Errors)."""

from __future__ import annotations

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


class DeadLetter(Message):
    """A message that could not be read at all, kept with its original bytes."""

    event_type: Literal["DeadLetter"] = "DeadLetter"
    source_topic: StrictStr
    partition: int
    offset: int
    key: str | None
    payload_base64: StrictStr
    error: StrictStr
