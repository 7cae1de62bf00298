"""A consumed record as the chassis hands it to a service (`Incoming`), how it is read (never
raising, whatever the bytes), and the two shapes a service's handling of a poll takes: a
`BatchHandler`, and one that `KeepsWhatItReads` in memory. The batch consumer that drives them
is pkgshared.consuming."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pkgcontract.messages import Message, Rejected, Unreadable, read


@dataclass(slots=True)  # not frozen: a frozen one takes four times as long to make
class Incoming:
    """One consumed record and what reading it gave (never changed once made)."""

    topic: str  # the contract's name, without the deployment's prefix
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    message: Message | None  # None when `problem` is set
    problem: Unreadable | Rejected | None = None
    source_topic: str = ""  # the topic's real name (with the deployment's prefix)

    @property
    def text_key(self) -> str:
        return self.key.decode("utf-8", "replace") if self.key else ""

    def where(self) -> dict[str, Any]:
        """Log fields naming this record (a long key cut) and, once read, its message."""
        fields: dict[str, Any] = {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "key": self.text_key[:128],
        }
        if self.message is not None:
            fields["event_id"] = str(self.message.event_id)
            fields["event_type"] = self.message.TYPE
            fields["correlation_id"] = self.message.correlation_id
        elif isinstance(self.problem, Rejected):
            fields["event_id"] = str(self.problem.command_id)
            fields["event_type"] = self.problem.command_type
        return fields


class BatchHandler(Protocol):
    """A service's handling of a batch of readable, not yet read records, in order, inside the
    caller's unit of work (the caller commits)."""

    def __call__(self, uow: Any, batch: list[Incoming], /) -> Awaitable[None]: ...


def incoming(topic: str, record: Any, rules: str | None = None) -> Incoming:
    """Read one consumer record of contract topic `topic` (by the rules of topic `rules`,
    default the same); never raises."""
    message: Message | None = None
    problem: Unreadable | Rejected | None = None
    try:
        message = read(rules or topic, record.value, key=record.key)
    except (Unreadable, Rejected) as refused:
        problem = refused
    return Incoming(
        topic,
        record.partition,
        record.offset,
        record.key,
        record.value,
        message,
        problem,
        record.topic,
    )


class KeepsWhatItReads(Protocol):
    """A handler that holds what it reads in memory and, after a restart or a rebalance,
    seeks back to read it again (its rebalance listener seeks; the stored offset only says
    what was read): records read before come to `replay` (readable ones; the others were
    dead-lettered then), a poll is handled under `poll_lock` (the listener takes it, so no
    record fetched before a rebalance is handled after it), and a poll that must come again
    is sought back by `seek_back` under that lock rather than by the subscriber's nack after
    it (a rebalance in between would have its own seek overridden)."""

    poll_lock: asyncio.Lock

    def replay(self, batch: list[Incoming]) -> None: ...

    def passed(self, batch: list[Incoming]) -> None:
        """Records read that the handler is not given (unreadable, or rejected): how far
        their partitions have been read."""

    def seek_back(self, records: Sequence[Any]) -> None: ...
