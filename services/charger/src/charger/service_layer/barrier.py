"""Has the charger read everything published before a tick or a RunPackage?

The end offsets of its inputs are read the first time that message is handled and kept for
its retries. Input published after the tick must not hold it back: under a steady stream the
projections are never exactly at the moving end, and waiting for it stalled ticks for seconds
at a time (tests/reliability/test_sustained_load.py). A restart reads new ends, which are
later, so it can only wait more, never less."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol
from uuid import UUID

from pkgshared.rules import RetryLater

EndOffsets = Callable[[], Awaitable[dict[tuple[str, int], int]]]
"""End offset of each (contract topic, partition) of the charger's inputs, from the broker."""


class ProjectionsBehind(RetryLater):
    """Something published before this tick/run has not been read yet: retry shortly."""


class Positions(Protocol):
    async def consumed_positions(self) -> dict[tuple[str, int], int]: ...


class InputsBarrier:
    def __init__(self, end_offsets: EndOffsets, remember: int = 1024) -> None:
        self._end_offsets = end_offsets
        self._targets: OrderedDict[UUID, dict[tuple[str, int], int]] = OrderedDict()
        self._remember = remember

    async def check(self, message_id: UUID, store: Positions) -> None:
        """Return when the projections have read up to the ends seen when `message_id` was
        first checked; raise ProjectionsBehind (retry later) until then."""
        target = self._targets.get(message_id)
        if target is None:
            target = await self._end_offsets()
            self._targets[message_id] = target
            while len(self._targets) > self._remember:
                self._targets.popitem(last=False)
        read = await store.consumed_positions()
        behind = sorted(k for k, end in target.items() if read.get(k, 0) < end)
        if behind:
            raise ProjectionsBehind(f"projections behind on {behind}")
        self._targets.pop(message_id, None)
