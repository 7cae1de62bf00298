"""A large poll of a stream read a chunk at a time, so that reading one chunk overlaps the
previous chunk's statements in PostgreSQL (pkgshared.consuming, `pipeline_chunk`)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pkgshared.incoming import Incoming, incoming

READ_STEP = 250
"""Records read between two looks at the event loop while a poll is read in chunks."""


def chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """[start, end) of the chunks a poll of `n` records is read in: `size` each, the last
    `size` split three quarters and a quarter (at least 1)."""
    tail = max(1, size // 4)
    cuts = [*range(0, max(1, n - tail), size), max(0, n - tail), n]
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


async def read_in_chunks(
    topic: str, rules: str | None, batch: list[Incoming], unread: Sequence[Any], size: int
) -> AsyncIterator[list[Incoming]]:
    """`batch` in one piece, or `unread` records read a chunk at a time (and kept in
    `batch`). A chunk is read a few hundred records at a time, with a look at the event
    loop between them (the previous chunk's statement, the relay and the other consumers
    go on meanwhile); the poll's last chunk is a quarter of the others, as the commit
    waits for its statement."""
    if not unread:
        yield batch
        return
    for start, end in chunk_bounds(len(unread), size):
        chunk: list[Incoming] = []
        for step in range(start, end, READ_STEP):
            if step > start:
                await asyncio.sleep(0)
            chunk += [incoming(topic, r, rules) for r in unread[step : min(end, step + READ_STEP)]]
        batch += chunk
        yield chunk
