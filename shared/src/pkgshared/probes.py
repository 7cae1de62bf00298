"""Gauges measured every few seconds rather than on each message: consumer lag, dead letters
per topic, and whatever a service adds (the charger's held assignments)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from pkgcontract import topics
from pkgshared.metrics import CONSUMER_LAG, DEAD_LETTERS

if TYPE_CHECKING:
    from pkgshared.db import Pool


log = structlog.get_logger(__name__)

Probe = Callable[[], Awaitable[None]]
EndOffsets = Callable[[str], Awaitable[dict[int, int]]]


async def measure_consumers(
    pool: Pool, consumed: list[tuple[str, str]], end_offsets: EndOffsets, real: Callable[[str], str]
) -> None:
    """Set the lag of each (contract topic, group) consumed, from the topic's end offsets and
    the offsets stored with the service's state, and the depth of the topic's .dlq."""
    for topic, group in consumed:
        ends = await end_offsets(real(topic))
        rows = await pool.fetch(
            "SELECT partition, next_offset FROM read_offsets WHERE topic = $1", topic
        )
        read = {r["partition"]: r["next_offset"] for r in rows}
        for partition, end in ends.items():
            CONSUMER_LAG.labels(group=group, topic=topic, partition=str(partition)).set(
                max(0, end - read.get(partition, 0))
            )
        letters = await end_offsets(real(topics.dlq_topic(topic)))
        DEAD_LETTERS.labels(topic=topic).set(sum(letters.values()))


async def run_probes(probes: list[Probe], interval: float) -> None:
    """Run every probe every `interval` seconds; a probe that fails is logged and tried again
    next time (a metric must never stop the service)."""
    while True:
        for probe in probes:
            try:
                await probe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("metric probe failed", probe=probe.__name__, error=str(exc)[:300])
        await asyncio.sleep(interval)
