"""pkgctl's Kafka side: send a command and wait for its answer; read whole topics."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

from pkgshared import topics
from pkgshared.kafka import client_security
from pkgshared.messages import Message
from pkgshared.settings import ServiceSettings
from pkgshared.topic_io import Record, TopicReader, produce_keyed


def bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


def security() -> dict[str, Any]:
    """The services' security settings (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*), read from the
    environment the same way, so pkgctl reaches any cluster the services reach."""
    return client_security(ServiceSettings())


def real(topic: str) -> str:
    return os.environ.get("TOPIC_PREFIX", "") + topic


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
    answers: str | None,
    timeout: float,
    success: dict[str, Any],
) -> dict[str, Any] | None:
    """Send `message`; when `answers` is given, return the first message there that matches
    `success` or rejects this command."""
    headers = {"event_type": message.TYPE}
    if answers is None:
        await produce_keyed(
            bootstrap(), real(topic), [(key, message.to_json())], headers, security()
        )
        return None
    async with TopicReader(
        bootstrap(), real(answers), from_end=True, client_options=security()
    ) as reader:
        await produce_keyed(
            bootstrap(), real(topic), [(key, message.to_json())], headers, security()
        )
        command_id = str(message.event_id)

        def answered(records: list[Record]) -> bool:
            return any(_answers(as_json(r), command_id, success) for r in records)

        records = await reader.wait_for(answered, timeout=timeout, what="the outcome")
        return next(o for o in map(as_json, records) if _answers(o, command_id, success))


def _answers(obj: dict[str, Any], command_id: str, success: dict[str, Any]) -> bool:
    if obj.get("event_type") == "CommandRejected":
        return bool(obj.get("command_id") == command_id)
    return all(obj.get(k) == v for k, v in success.items())


async def tail(topic: str, show: Callable[[Record], None], follow: bool) -> None:
    async with TopicReader(bootstrap(), real(topic), client_options=security()) as reader:
        idle = 0
        while follow or idle < 2:
            batch = await reader.poll(0.5)
            idle = 0 if batch else idle + 1
            for record in batch:
                show(record)


async def dead_letters(source: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    await tail(
        topics.dlq_topic(source),
        lambda r: found.append(as_json(r) | {"_offset": r.offset}),
        follow=False,
    )
    return found


async def replay(letter: dict[str, Any]) -> None:
    payload = base64.b64decode(letter["payload_base64"])
    source = letter["source_topic"].removeprefix(os.environ.get("TOPIC_PREFIX", ""))
    await produce_keyed(
        bootstrap(), real(source), [(letter.get("key"), payload)], client_options=security()
    )
