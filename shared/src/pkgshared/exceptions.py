"""A broken business rule, and the CommandRejected it becomes (docs/contract.md §4 Errors).
Pure: domain packages raise RuleBroken without knowing about Kafka."""

from __future__ import annotations

from pkgcontract.messages import CommandRejected, FieldError, Message


class RuleBroken(Exception):
    """A readable command that breaks a rule; the sender gets CommandRejected."""

    def __init__(
        self,
        reason: str,
        field: str = "",
        message: str = "",
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or [FieldError(field=field, message=message or reason)]


class RetryLater(Exception):
    """Not an error: the message cannot be handled yet (e.g. a view still catching up). It is
    not acknowledged and comes back after the retry pause; logged without a traceback."""


def rejection(cmd: Message, broken: RuleBroken) -> CommandRejected:
    """The CommandRejected for `cmd` (see CommandRejected.of)."""
    return CommandRejected.of(
        cmd.event_id, cmd.TYPE, broken.reason, broken.errors, cmd.correlation_id
    )
