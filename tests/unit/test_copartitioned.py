"""pkgshared.copartitioned without Kafka: a poll of two co-partitioned topics goes to each
topic's batch consumer in the given order, all under the keeper's poll lock (a rebalance waits
for the whole poll), and a topic's records that must come again are sought back by the keeper,
not raised to the subscription (whose nack would undo a rebalance's seeks)."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from typing import Any

from pkgshared.consuming import NotYet
from pkgshared.copartitioned import CoPartitioned

Rec = namedtuple("Rec", "topic partition offset")


class _Consumer:
    def __init__(self, topic: str, log: list[tuple[str, int]], keeper: _Keeper) -> None:
        self.topic = topic
        self.group: str | None = None
        self._log = log
        self._keeper = keeper
        self.fail = False

    async def consume_in_hand(self, records: list[Any]) -> None:
        assert self._keeper.poll_lock.locked()
        await asyncio.sleep(0)
        if self.fail:
            raise NotYet("PostgreSQL is away")
        self._log += [(self.topic, r.offset) for r in records]


class _Keeper:
    def __init__(self) -> None:
        self.poll_lock = asyncio.Lock()
        self.sought: list[Any] = []

    def seek_back(self, records: list[Any]) -> None:
        self.sought += records


def _made() -> tuple[CoPartitioned, list[tuple[str, int]], _Keeper, list[_Consumer]]:
    log: list[tuple[str, int]] = []
    keeper = _Keeper()
    grants, usage = (_Consumer(t, log, keeper) for t in ("grants", "usage"))
    both = CoPartitioned([grants, usage], keeper, lambda t: "p." + t)  # type: ignore[list-item]
    return both, log, keeper, [grants, usage]


async def test_each_topic_to_its_consumer_in_order_under_the_lock() -> None:
    both, log, _, consumers = _made()
    both.group = "allowance.usage"
    await both.consume([Rec("p.usage", 0, 5), Rec("p.grants", 0, 1), Rec("p.usage", 1, 2)])
    assert log == [("grants", 1), ("usage", 5), ("usage", 2)]
    assert [c.group for c in consumers] == ["allowance.usage"] * 2


async def test_records_that_must_come_again_are_sought_back_and_the_rest_go_on() -> None:
    both, log, keeper, (grants, _) = _made()
    grants.fail = True
    polled = [Rec("p.grants", 2, 7), Rec("p.usage", 2, 9)]
    await both.consume(polled)  # no NotYet out of it
    assert keeper.sought == polled[:1] and log == [("usage", 9)]


async def test_a_rebalance_waits_for_the_whole_poll() -> None:
    both, log, keeper, _ = _made()
    polled = asyncio.create_task(both.consume([Rec("p.grants", 0, 1), Rec("p.usage", 0, 1)]))
    await asyncio.sleep(0)
    async with keeper.poll_lock:  # what the rebalance listener takes
        assert len(log) == 2
    await polled
