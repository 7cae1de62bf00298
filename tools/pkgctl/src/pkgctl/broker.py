"""pkgctl's Kafka side: send a command and wait for its answer; read whole topics."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pkgcontract import topics
from pkgcontract.messages import Message
from pkgctl import reach
from pkgctl.answers import outcome as answer_of
from pkgctl.answers import whole_report as answers_whole_report
from pkgctl.clock import Clock
from pkgshared.kafka import client_security
from pkgshared.settings import ServiceSettings
from pkgtools.topic_io import Record, TopicReader, produce_keyed

# The Kafka client logs each failed connection attempt at ERROR; pkgctl says itself, once,
# what could not be reached (cli.run).
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def bootstrap() -> str:
    """KAFKA_BOOTSTRAP_SERVERS, else the chosen profile's (pkgctl.profiles)."""
    return reach.bootstrap()


def security() -> dict[str, Any]:
    """The services' security settings (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, else the chosen
    profile's), read as the services read them, so pkgctl reaches any cluster they reach."""
    chosen: dict[str, Any] = reach.security()
    return client_security(ServiceSettings(**chosen))


def prefix() -> str:
    return reach.topic_prefix()


def real(topic: str) -> str:
    return prefix() + topic


def as_json(record: Record) -> dict[str, Any]:
    try:
        obj = json.loads(record.value or b"null")
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


async def send(
    topic: str,
    key: str,
    message: Message,
    answers: str | tuple[str, ...] | None,
    timeout: float,
    success: dict[str, Any] | list[dict[str, Any]],
    since: datetime | None = None,
) -> dict[str, Any] | None:
    """Send `message`; when `answers` (a topic, or several) is given, return the first message
    there that matches `success` (or one of a list) or rejects this command (a report: all its
    parts, joined). The answers are read from their end as it was before sending, or from
    `since` (a command sent again: its first sending's outcome counts, the services ignoring
    the repeat)."""
    headers = {"event_type": message.TYPE}
    if answers is None:
        await produce_keyed(
            bootstrap(), real(topic), [(key, message.to_json())], headers, security()
        )
        return None
    watched = (answers,) if isinstance(answers, str) else answers
    async with TopicReader(
        bootstrap(),
        *map(real, watched),
        from_end=since is None,
        since=since,
        client_options=security(),
    ) as reader:
        await produce_keyed(
            bootstrap(), real(topic), [(key, message.to_json())], headers, security()
        )
        command_id = str(message.event_id)

        def found(records: list[Record]) -> dict[str, Any] | None:
            return answer_of(map(as_json, records), command_id, success)

        records = await reader.wait_for(
            lambda rs: found(rs) is not None, timeout=timeout, what="the outcome"
        )
        return found(records)


def whole_report(records: list[Record], request_id: str) -> dict[str, Any] | None:
    """The PackageRunReported of `request_id` among `records`, every part joined (answers.py)."""
    return answers_whole_report(map(as_json, records), request_id)


COMMAND_TOPICS = (
    topics.CATALOG_COMMANDS,
    topics.ASSIGNMENT_COMMANDS,
    topics.CHARGER_COMMANDS,
    topics.CLOCK_TICKS,
    topics.USAGE_RATED,
)
"""The topics pkgctl sends its commands (and ticks and calls) to."""


async def first_sent(
    command_id: str, since: datetime | None, among: tuple[str, ...] = COMMAND_TOPICS
) -> tuple[str, dict[str, Any]] | None:
    """The topic and body of the first message with event_id `command_id` on the topics
    `among`, read from `since` (from their start when None) to their current end."""
    async with TopicReader(
        bootstrap(), *(real(t) for t in among), since=since, client_options=security()
    ) as reader:
        records = await reader.read_to_end()
    hits = [r for r in records if as_json(r).get("event_id") == command_id]
    if not hits:
        return None
    first = min(hits, key=lambda r: r.offset)  # one key, so one partition
    return first.topic.removeprefix(prefix()), as_json(first)


async def read_since(topic: str | tuple[str, ...], since: datetime | None) -> list[dict[str, Any]]:
    """The messages of `topic` (or of each of several) written from `since` (from its start
    when None) to its end."""
    among = (topic,) if isinstance(topic, str) else topic
    async with TopicReader(
        bootstrap(), *map(real, among), since=since, client_options=security()
    ) as reader:
        return [as_json(r) for r in await reader.read_to_end()]


async def tail(
    topic: str,
    show: Callable[[Record], None],
    follow: bool,
    last: int | None = None,
    since: datetime | None = None,
) -> None:
    """Show `topic`'s records from the start (or its `last` per partition, or those written
    since `since`) to its end, and with `follow` as they come."""
    async with TopicReader(
        bootstrap(), real(topic), client_options=security(), last=last, since=since
    ) as reader:
        idle = 0
        while follow or idle < 2:
            batch = await reader.poll(0.5)
            idle = 0 if batch else idle + 1
            for record in batch:
                show(record)


async def clock(last: int = 100) -> Clock:
    """The latest tick among the clock topic's `last` records and the latest ChargesSettled."""
    ticks: list[dict[str, Any]] = []
    settled: list[dict[str, Any]] = []
    await tail(topics.CLOCK_TICKS, lambda r: ticks.append(as_json(r)), False, last)
    await tail(topics.CHARGER_PROGRESS, lambda r: settled.append(as_json(r)), False, 1)
    sent = [t for t in ticks if isinstance(t.get("at"), str)]
    return Clock(
        latest_tick=sent[-1] if sent else None,
        settled=settled[-1] if settled and settled[-1].get("at") else None,
        now=datetime.now(UTC),
    )


async def allowances(customer: str) -> list[dict[str, Any]]:
    """The latest AllowanceBalance of each of `customer`'s grants (the compacted topic, read
    from its start: the last record of a key is its state)."""
    latest: dict[str, dict[str, Any]] = {}

    def keep(record: Record) -> None:
        obj = as_json(record)
        if obj.get("event_type") == "AllowanceBalance" and obj.get("customer_id") == customer:
            latest[obj["grant_id"]] = obj

    await tail(topics.ALLOWANCE_BALANCES, keep, False)
    return list(latest.values())
