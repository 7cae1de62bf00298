"""The envelope every message carries (docs/contract.md §2)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field

from .fields import Instant, Uuid


def _now() -> datetime:
    return datetime.now(UTC)


ENVELOPE_REQUIRED = ("event_id", "event_type", "schema_version", "occurred_at")


def envelope_required(schema: dict[str, Any]) -> None:
    """Published schemas require the envelope (docs/contract.md §2: every message carries it),
    although the models fill in what a lenient reader may meet missing."""
    schema["required"] = [
        *ENVELOPE_REQUIRED,
        *(name for name in schema.get("required", []) if name not in ENVELOPE_REQUIRED),
    ]


class Message(BaseModel):
    """Base of every message: frozen, unknown input fields ignored, envelope at the top level."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra=envelope_required)

    # The message name; each subclass narrows it to a Literal of its own name.
    TYPE: ClassVar[str] = ""

    event_id: Uuid = Field(
        default_factory=uuid4,
        description="For a command, the sender's id (de-duplicates retries); for a derived "
        "event, uuid5(NAMESPACE_URL, 'packages:' + natural key).",
    )
    schema_version: Literal[1] = Field(default=1, description="Version of this message's schema.")
    occurred_at: Instant = Field(
        default_factory=_now, description="When it happened, RFC 3339 in UTC ('Z')."
    )
    correlation_id: str | None = Field(
        default=None,
        max_length=200,
        description="Copied from the command that caused this event.",
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.TYPE = cls.__name__

    def to_json(self) -> bytes:
        """The message as the contract's JSON bytes (what model_dump_json gives, encoded, without
        the round trip through str: this runs once per event published)."""
        return self.__pydantic_serializer__.to_json(self)
