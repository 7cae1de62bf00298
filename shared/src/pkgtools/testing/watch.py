"""Everything published on some topics, each record parsed once and kept by topic: for tests
that follow thousands of events and wait on conditions over all of them."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pkgtools.topic_io import TopicReader, WaitTimedOut


class Watch:
    def __init__(self, reader: TopicReader, prefix: str) -> None:
        self.reader = reader
        self.prefix = prefix
        self.events: list[tuple[str, bytes, dict[str, Any]]] = []
        self._by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def on(self, name: str) -> list[dict[str, Any]]:
        """The parsed events of contract topic `name`, in arrival order (with repeats)."""
        return self._by_topic[self.prefix + name]

    async def poll(self, timeout: float = 0.5) -> int:
        records = await self.reader.poll(timeout)
        for r in records:
            event = r.json()
            self.events.append((r.topic, r.value or b"", event))
            self._by_topic[r.topic].append(event)
        return len(records)

    async def until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise WaitTimedOut(f"timed out after {timeout}s waiting for {what}")
            await self.poll()
