"""Reading several topics at once for `pkgctl tail` and `pkgctl trace`: up to their end as it
is now (bounded), or as records come; records in time order (pkgctl.streams)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pkgctl import broker, streams
from pkgtools.topic_io import Record, TopicReader


def contract_name(record: Record) -> Record:
    """`record` with its topic named as the contract names it (without the topic prefix)."""
    record.topic = record.topic.removeprefix(broker.prefix())
    return record


async def read(
    names: list[str],
    keep: Callable[[Record], bool],
    *,
    last: int | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> tuple[list[Record], int, bool]:
    """The records of `names` that `keep` keeps, from the start (or each partition's `last`,
    or those written since `since`) to the end as it is now, in time order; how many were
    read; whether `limit` (records read) stopped the reading first."""
    kept: list[Record] = []

    def each(record: Record) -> None:
        if keep(contract_name(record)):
            kept.append(record)

    async with TopicReader(
        broker.bootstrap(),
        *map(broker.real, names),
        last=last,
        since=since,
        client_options=broker.security(),
    ) as reader:
        read, cut = await reader.each_to_end(each, limit)
    return streams.in_time(kept), read, cut


async def follow(
    names: list[str], keep: Callable[[Record], bool], show: Callable[[Record], None]
) -> None:
    """Show the records of `names` written from now on, as they come (each poll's in time
    order), until interrupted."""
    async with TopicReader(
        broker.bootstrap(),
        *map(broker.real, names),
        from_end=True,
        client_options=broker.security(),
    ) as reader:
        while True:
            batch = await reader.poll(0.5)
            reader.records.clear()
            for record in streams.in_time(map(contract_name, batch)):
                if keep(record):
                    show(record)
