"""Has a service read everything published before a message (a tick, a RunPackage, an
AssignPackage naming a package its catalog view does not know)?

The end offsets of the inputs are read the first time that message is handled and kept for its
retries. Input published after the message must not hold it back: under a steady stream the
views are never exactly at the moving end, and waiting for it stalled the charger's ticks for
seconds at a time (tests/reliability/test_sustained_load.py). A restart reads new ends, which
are later, so it can only wait more, never less."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar
from uuid import UUID

from pkgshared.exceptions import RetryLater

K = TypeVar("K", bound=Hashable)
Offsets = Callable[[], Awaitable[dict[K, int]]]
"""Offsets by partition key (a partition, or a (topic, partition) pair)."""


class InputsBehind(RetryLater):
    """Something published before this message has not been read yet: retry shortly."""


class InputsBarrier(Generic[K]):
    def __init__(self, end_offsets: Offsets[K], what: str = "views", remember: int = 1024) -> None:
        self._end_offsets = end_offsets
        self._what = what
        self._targets: OrderedDict[UUID, dict[K, int]] = OrderedDict()
        self._remember = remember

    async def check(self, message_id: UUID, read_positions: Offsets[K]) -> None:
        """Return when `read_positions()` has reached the ends seen when `message_id` was first
        checked; raise InputsBehind (retry later) until then."""
        target = self._targets.get(message_id)
        if target is None:
            target = await self._end_offsets()
            self._targets[message_id] = target
            while len(self._targets) > self._remember:
                self._targets.popitem(last=False)
        read = await read_positions()
        behind = sorted((k for k, end in target.items() if read.get(k, 0) < end), key=str)
        if behind:
            raise InputsBehind(f"{self._what} behind on {behind}")
        self._targets.pop(message_id, None)
