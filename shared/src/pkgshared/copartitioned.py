"""Topics partitioned alike (the same key, the same partition count) consumed in one consumer
group whose members are each handed the same partitions of every topic (Kafka's range
assignor): the member that holds partition p of one holds p of the others, and so every record
of the keys that fall there. A service that keeps what it reads in memory owns those keys
while it holds the partitions (the allowance: a customer's calls and grants)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from pkgshared.consuming import BatchConsumer, NotYet
from pkgshared.incoming import KeepsWhatItReads


class CoPartitioned:
    """One poll of co-partitioned topics: each topic's records go to its batch consumer, in the
    order of `consumers`, each in its own transaction, all under the keeper's poll lock (a
    rebalance waits for the whole poll). A topic's records that must come again are sought
    back by the keeper (never nacked: a rebalance in between would have its seeks undone)."""

    def __init__(
        self,
        consumers: Sequence[BatchConsumer],
        keeper: KeepsWhatItReads,
        real: Callable[[str], str],
    ) -> None:
        self._consumers = [(real(c.topic), c) for c in consumers]
        self._keeper = keeper
        self.topic = consumers[0].topic  # how the subscription names its handler

    @property
    def group(self) -> str | None:
        return self._consumers[0][1].group

    @group.setter
    def group(self, group: str | None) -> None:
        for _, consumer in self._consumers:
            consumer.group = group

    async def consume(self, records: Sequence[Any]) -> None:
        if not records:
            return
        by_topic: dict[str, list[Any]] = defaultdict(list)
        for record in records:
            by_topic[record.topic].append(record)
        async with self._keeper.poll_lock:
            for name, consumer in self._consumers:
                mine = by_topic.get(name)
                if not mine:
                    continue
                try:
                    await consumer.consume_in_hand(mine)
                except NotYet:
                    self._keeper.seek_back(mine)
