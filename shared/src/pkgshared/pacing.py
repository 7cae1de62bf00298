"""Work done in pieces (docs/contract.md §2 "Bounded work"): a long loop of a handler gives the
event loop back now and then, so Kafka heartbeats, the other consumers, the outbox relay,
`/health` and the read APIs go on while one message's work runs.

`breathe()` is cheap enough to call once per item: it looks at a clock and yields (an
`asyncio.sleep(0)`, one turn of the event loop) only when `STEP_SECONDS` have passed since the
last time it did. `pieces(items, size)` hands a list over in slices, breathing between them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

T = TypeVar("T")

STEP_SECONDS = 0.02
"""Most time a paced loop runs between two turns of the event loop."""

_last = time.perf_counter()


async def breathe() -> None:
    """Yield to the event loop when the last yield (by any paced loop) is `STEP_SECONDS`
    old; otherwise return at once."""
    global _last
    now = time.perf_counter()
    if now - _last >= STEP_SECONDS:
        await asyncio.sleep(0)
        _last = time.perf_counter()


async def pieces(items: Sequence[T], size: int) -> AsyncIterator[Sequence[T]]:
    """`items` in slices of at most `size`, with a breath before each slice after the first."""
    for start in range(0, len(items), size):
        if start:
            await breathe()
        yield items[start : start + size]
