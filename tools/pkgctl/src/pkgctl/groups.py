"""What Kafka itself says of the system (pkgctl status): each consumer group's lag per topic
(its committed offsets against the end offsets, by the admin client) and the dead letters on
each `<topic>.dlq` (how many, and the newest)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pkgcontract import topics
from pkgctl import broker, streams
from pkgtools.topic_io import TopicReader

SERVICES = ("catalog", "assignment", "charger", "allowance")
"""The services whose consumer groups are shown (a group's name starts with its service's)."""


def ours_by_name(group: str) -> bool:
    """Whether `group` may be one of this system's: a service's name first and, under a topic
    prefix, the prefix after it (pkgshared.runtime's group_id)."""
    prefix = broker.prefix().rstrip(".")
    if group.split(".")[0] not in SERVICES:
        return False
    return not prefix or f".{prefix}" in group


def _options() -> dict[str, Any]:
    return {"bootstrap_servers": broker.bootstrap(), **broker.security()}


async def consumer_lag() -> list[dict[str, Any]]:
    """Per consumer group of this system's services and per contract topic it reads: the
    records not read yet (end offsets less committed offsets, summed over partitions), and
    how many partitions lag. Groups of other systems (another topic prefix) are left out."""
    ours = {broker.real(n): n for n in streams.names()}
    admin = AIOKafkaAdminClient(**_options(), client_id="pkgctl-status")
    await admin.start()
    try:
        listed = await admin.list_consumer_groups()
        names = sorted(g[0] for g in listed if isinstance(g[0], str) and ours_by_name(g[0]))
        offsets = await asyncio.gather(*(admin.list_consumer_group_offsets(g) for g in names))
    finally:
        await admin.close()
    committed = {
        group: {tp: o.offset for tp, o in found.items() if tp.topic in ours and o.offset >= 0}
        for group, found in zip(names, offsets, strict=True)
    }
    parts = sorted({tp for found in committed.values() for tp in found})
    ends = await end_offsets(parts)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for group, found in committed.items():
        for tp, offset in found.items():
            row = rows.setdefault(
                (group, ours[tp.topic]),
                {"group": group, "topic": ours[tp.topic], "lag": 0, "partitions_behind": 0},
            )
            behind = max(0, ends.get(tp, offset) - offset)
            row["lag"] += behind
            row["partitions_behind"] += 1 if behind else 0
    return [rows[k] for k in sorted(rows)]


async def end_offsets(parts: list[TopicPartition]) -> dict[TopicPartition, int]:
    if not parts:
        return {}
    consumer = AIOKafkaConsumer(**_options(), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(parts))
    finally:
        await consumer.stop()


async def topic_ends() -> dict[str, int]:
    """Each contract topic's records so far (the sum of its partitions' end offsets); a topic
    that does not exist is left out."""
    admin = AIOKafkaAdminClient(**_options(), client_id="pkgctl-status")
    await admin.start()
    try:
        described = await admin.describe_topics([broker.real(n) for n in streams.names()])
    finally:
        await admin.close()
    parts = [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if not t.get("error_code")
        for p in t.get("partitions") or ()
    ]
    totals: dict[str, int] = {}
    for tp, end in (await end_offsets(parts)).items():
        name = tp.topic.removeprefix(broker.prefix())
        totals[name] = totals.get(name, 0) + end
    return totals


async def dead_letter_depths(ends: dict[str, int]) -> list[dict[str, Any]]:
    """Per consumed topic: the dead letters on its .dlq (from `ends`, topic_ends()) and the
    newest one's time, source offset and error (read from the .dlq's last record)."""
    dlqs = [topics.dlq_topic(t) for t in topics.CONSUMED_TOPICS]
    newest: dict[str, dict[str, Any]] = {}
    filled = [d for d in dlqs if ends.get(d)]
    if filled:
        async with TopicReader(
            broker.bootstrap(), *map(broker.real, filled), last=1, client_options=broker.security()
        ) as reader:
            for r in await reader.read_to_end():
                newest[r.topic.removeprefix(broker.prefix())] = streams.as_json(r) | {
                    "_written": streams.when(r)
                }
    out = []
    for source, dlq in zip(topics.CONSUMED_TOPICS, dlqs, strict=True):
        letter = newest.get(dlq)
        out.append(
            {
                "topic": source,
                "dead_letters": ends.get(dlq, 0),
                "newest": None
                if letter is None
                else {
                    "at": letter.get("occurred_at") or letter["_written"],
                    "error": str(letter.get("error", ""))[:200],
                    "key": letter.get("key"),
                },
            }
        )
    return out
