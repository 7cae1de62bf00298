"""pkgctl's Kafka side: send a command and wait for its answer; read whole topics."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pkgcontract import topics
from pkgcontract.messages import Message
from pkgctl import reach, replay_fields
from pkgctl.answers import outcome as answer_of
from pkgctl.answers import whole_report as answers_whole_report
from pkgctl.clock import Clock
from pkgshared.kafka import client_security
from pkgshared.settings import ServiceSettings
from pkgtools.topic_io import Record, TopicReader, WaitTimedOut, produce_keyed

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


async def dead_letters(source: str) -> list[dict[str, Any]]:
    """The dead letters of `source`, each with `_offset` (in the .dlq) and `_replayed` (a
    message sent again from it is on `source`: its REPLAYED_FROM header says so)."""
    found: list[dict[str, Any]] = []
    dlq = topics.dlq_topic(source)
    await tail(
        dlq,
        lambda r: found.append(as_json(r) | {"_offset": r.offset, "_dlq": dlq}),
        follow=False,
    )
    replayed: set[str] = set()

    def note(record: Record) -> None:
        value = record.headers.get(REPLAYED_FROM)
        if value is not None:
            replayed.add(value.decode(errors="replace"))

    if found:
        since = min(datetime.fromisoformat(x["occurred_at"]) for x in found)
        await tail(source, note, False, since=since)
    for x in found:
        x["_replayed"] = f"{dlq}:{x['_offset']}" in replayed
    return found


REPLAYED_FROM = "replayed-from"
"""The header a replayed message carries: `<dlq topic>:<offset>` of its dead letter."""


def replayable(
    letter: dict[str, Any], changes: dict[str, str]
) -> tuple[bytes, dict[str, str], list[str]]:
    """The bytes to send again (with `changes`, FIELD: the text after '=', made to the JSON
    object, each with the type the contract gives the field: replay_fields; a new
    correlation_id, which the outcome carries), the headers (event_type, read from the
    message, and REPLAYED_FROM) and what was set, as which type; ValueError when that cannot be
    done faithfully or a value cannot be its field's type."""
    payload = base64.b64decode(letter["payload_base64"])
    size = letter.get("payload_size")
    if size is not None and size != len(payload):
        raise ValueError(
            f"this dead letter holds only the first {len(payload)} of {size} bytes: "
            "replaying it would send a different message"
        )
    obj: Any = None
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        if changes:
            raise ValueError("the message is not JSON, so --set cannot change it") from None
    if changes and not isinstance(obj, dict):
        raise ValueError("the message is not a JSON object, so --set cannot change it")
    said: list[str] = []
    if isinstance(obj, dict):
        event_type = changes.get("event_type", obj.get("event_type"))
        typed = replay_fields.typed(event_type, changes)
        obj = obj | {c.name: c.value for c in typed} | {"correlation_id": str(uuid.uuid4())}
        said = [c.describe() for c in typed] + replay_fields.check(event_type, obj, typed)
        payload = json.dumps(obj).encode()
    event_type = obj.get("event_type") if isinstance(obj, dict) else None
    headers = {"event_type": event_type} if isinstance(event_type, str) else {}
    return payload, headers | {REPLAYED_FROM: f"{letter['_dlq']}:{letter['_offset']}"}, said


async def replay(
    letter: dict[str, Any], payload: bytes, headers: dict[str, str], timeout: float
) -> tuple[str, str]:
    """Send `payload` to the letter's source topic with its key (the default partitioner,
    murmur2 as the services' producers, puts it where its key's messages go) and wait for
    what becomes of it: ("dead-lettered", error) when it goes back to the .dlq,
    ("rejected", reason) for a CommandRejected, ("handled", event type) for an event that
    carries its correlation_id, ("sent", ...) when none of these came within `timeout`."""
    source = letter["source_topic"].removeprefix(prefix())
    body: Any = None
    with contextlib.suppress(ValueError, RecursionError):
        body = json.loads(payload)
    correlation = body.get("correlation_id") if isinstance(body, dict) else None
    command_id = body.get("event_id") if isinstance(body, dict) else None
    digest = hashlib.sha256(payload).hexdigest()
    watched = [real(topics.dlq_topic(source)), *(real(t) for t in ANSWERS.get(source, ()))]
    async with TopicReader(bootstrap(), *watched, from_end=True, client_options=security()) as r:
        await produce_keyed(
            bootstrap(), real(source), [(letter.get("key"), payload)], headers, security()
        )

        def outcome(records: list[Record]) -> tuple[str, str] | None:
            for o in map(as_json, records):
                kind = o.get("event_type")
                if kind == "DeadLetter" and o.get("payload_sha256") == digest:
                    return "dead-lettered", str(o.get("error"))
                if kind == "CommandRejected" and o.get("command_id") == command_id:
                    return "rejected", str(o.get("reason"))
                if correlation is not None and o.get("correlation_id") == correlation:
                    return "handled", str(kind)
            return None

        try:
            records = await r.wait_for(lambda rs: outcome(rs) is not None, timeout, "an outcome")
        except WaitTimedOut:
            return "sent", f"no dead letter, rejection or answer within {timeout:.0f} s"
        found = outcome(records)
        assert found is not None
        return found


ANSWERS: dict[str, tuple[str, ...]] = {
    topics.CATALOG_COMMANDS: (topics.CATALOG_PACKAGES,),
    topics.ASSIGNMENT_COMMANDS: (topics.ASSIGNMENT_EVENTS,),
    topics.CHARGER_COMMANDS: (topics.CHARGER_EVENTS,),
}
"""Where a replayed command's outcome appears (its rejection, or an event with its
correlation_id)."""


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
