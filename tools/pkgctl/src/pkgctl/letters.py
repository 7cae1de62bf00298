"""Dead letters on Kafka: read them (marked when replayed) from one .dlq or all of them, make
one ready to send again (--set typed by replay_fields) and replay it, waiting for what becomes
of it."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from pkgcontract import topics
from pkgctl import replay_fields
from pkgctl.broker import as_json, bootstrap, prefix, real, security, tail
from pkgtools.topic_io import Record, TopicReader, WaitTimedOut, produce_keyed


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
    return await _mark_replayed(source, found)


async def all_dead_letters() -> dict[str, list[dict[str, Any]]]:
    """The dead letters of every consumed topic (read in one go), by source topic."""
    dlqs = {real(topics.dlq_topic(t)): t for t in topics.CONSUMED_TOPICS}
    found: dict[str, list[dict[str, Any]]] = {t: [] for t in topics.CONSUMED_TOPICS}
    async with TopicReader(bootstrap(), *dlqs, client_options=security()) as reader:
        for r in await reader.read_to_end():
            dlq = r.topic.removeprefix(prefix())
            found[dlqs[r.topic]].append(as_json(r) | {"_offset": r.offset, "_dlq": dlq})
    for source, letters in found.items():
        if letters:
            await _mark_replayed(source, letters)
    return found


async def _mark_replayed(source: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    dlq = topics.dlq_topic(source)
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
