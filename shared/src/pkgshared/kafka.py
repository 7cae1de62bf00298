"""Kafka plumbing shared by the services: the broker, the publish call, and the reading
middleware that keeps a consumer alive whatever it is sent.

Every subscriber reads its topic's messages with `decoder_for(topic)`, which turns raw bytes into
the contract's model (`pkgshared.messages.read`), and is wrapped by the middleware made by
`reading_middleware`:
- an unreadable message is written to `<topic>.dlq` as DeadLetter (original bytes kept), then
  acknowledged, so the consumer moves past it;
- a readable command that breaks a schema rule gets CommandRejected on the service's event topic
  (same key, an event id derived from the command's, so a redelivery repeats the same event);
- any other failure (database down, broker hiccup) is logged, paused on, and re-raised so the
  message is not acknowledged and is delivered again: nothing is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from aiokafka.partitioner import DefaultPartitioner
from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from pkgshared import topics
from pkgshared.messages import DeadLetter, Message, Rejected, Unreadable, read
from pkgshared.rules import RetryLater
from pkgshared.settings import ServiceSettings

log = structlog.get_logger(__name__)


def tls_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """The TLS context of every Kafka client (SSL, SASL_SSL): verifies the broker's name and
    certificate against KAFKA_SSL_CAFILE, or the system's trust store when unset."""
    if settings.kafka_security_protocol.upper() not in ("SSL", "SASL_SSL"):
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)


def kafka_security(settings: ServiceSettings) -> BaseSecurity | None:
    """FastStream security object for the configured protocol (None: plaintext)."""
    protocol = settings.kafka_security_protocol.upper()
    if protocol == "PLAINTEXT":
        return None
    use_ssl = protocol in ("SSL", "SASL_SSL")
    context = tls_context(settings)
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    user = settings.kafka_sasl_username or ""
    password = (
        settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    )
    mechanism = (settings.kafka_sasl_mechanism or "PLAIN").upper()
    kinds: dict[str, type[SASLPlaintext] | type[SASLScram256] | type[SASLScram512]] = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }
    if mechanism not in kinds:
        raise ValueError(f"unsupported SASL mechanism {mechanism!r}")
    return kinds[mechanism](username=user, password=password, ssl_context=context, use_ssl=use_ssl)


SECURITY_OPTIONS = (
    "security_protocol",
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
    "ssl_context",
)


def client_security(settings: ServiceSettings) -> dict[str, Any]:
    """The security options of producer_options, for any other aiokafka client."""
    options = producer_options(settings, "")
    return {k: v for k, v in options.items() if k in SECURITY_OPTIONS}


def producer_options(settings: ServiceSettings, client_id: str) -> dict[str, Any]:
    """aiokafka producer options: idempotent, acks=all, batched, with the configured security."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "security_protocol": settings.kafka_security_protocol.upper(),
    }
    if settings.kafka_sasl_mechanism:
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism.upper()
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    context = tls_context(settings)
    if context is not None:
        options["ssl_context"] = context
    return options


class BatchPublisher:
    """Publishes many records with one producer call per (topic, partition) batch rather than
    one per record, which was a tenth of the charger's time. Same idempotent acks=all producer,
    same partitioner as a plain `send` (murmur2 of the key, as the Java clients), and each
    partition's records in the order given."""

    def __init__(self, producer: Any, topic_prefix: str = "") -> None:
        self._producer = producer
        self._prefix = topic_prefix
        self._partitioner = DefaultPartitioner()

    async def __call__(self, records: Sequence[tuple[str, bytes | None, bytes, Any]]) -> None:
        partitions: dict[str, list[int]] = {}
        open_batches: dict[tuple[str, int], Any] = {}
        pending = []
        for name, key, value, headers in records:
            topic = self._prefix + name
            if topic not in partitions:  # metadata read once per call: an added partition counts
                partitions[topic] = sorted(await self._producer.partitions_for(topic))
            every = partitions[topic]
            partition = self._partitioner(key, every, every)
            batch = open_batches.get((topic, partition))
            if batch is None:
                batch = open_batches[(topic, partition)] = self._producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                # Full: send it, then go on in a new one (sent after it: order kept).
                pending.append(await self._producer.send_batch(batch, topic, partition=partition))
                batch = open_batches[(topic, partition)] = self._producer.create_batch()
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    raise ValueError(f"a record of {len(value)} bytes does not fit in a batch")
        for (topic, partition), batch in open_batches.items():
            pending.append(await self._producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*pending)


def make_broker(settings: ServiceSettings, client_id: str, **kwargs: Any) -> KafkaBroker:
    """A broker whose producer is idempotent with acks=all (no duplicate, no loss on retry)."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        security=kafka_security(settings),
        logger=None,
        **kwargs,
    )


def message_headers(message: Message) -> dict[str, str]:
    return {"event_type": message.TYPE}


def decoder_for(topic: str) -> Callable[..., Awaitable[Message]]:
    """A FastStream decoder that reads `topic`'s raw bytes into the contract's model."""

    async def decode(msg: Any, _original: Any = None) -> Message:
        return read(topic, msg.body)

    return decode


PublishFn = Callable[[str, bytes | None, Message], Awaitable[None]]


def reading_middleware(
    publish: PublishFn,
    *,
    rejections_topic: str | None = None,
    retry_backoff_seconds: float = 1.0,
    on_outcome: Callable[[str, str, float], None] | None = None,
) -> type[BaseMiddleware]:
    """A consume middleware as described in the module docstring.

    `publish(topic, key, message)` must return only once the broker has acknowledged the write.
    `on_outcome(topic, outcome, seconds)` is told "handled", "rejected", "dead_lettered" or
    "failed" for every message (metrics).
    """

    def record(topic: str, outcome: str, started: float) -> None:
        if on_outcome is not None:
            on_outcome(topic, outcome, time.perf_counter() - started)

    class ReadingMiddleware(BaseMiddleware):
        async def consume_scope(self, call_next: Any, msg: Any) -> Any:
            record_ = msg.raw_message
            topic, key = record_.topic, record_.key
            where = {
                "topic": topic,
                "partition": record_.partition,
                "offset": record_.offset,
                "key": key.decode("utf-8", "replace") if isinstance(key, bytes) else key,
            }
            started = time.perf_counter()
            with structlog.contextvars.bound_contextvars(**where):
                try:
                    result = await call_next(msg)
                except Unreadable as exc:
                    letter = DeadLetter(
                        source_topic=topic,
                        partition=record_.partition,
                        offset=record_.offset,
                        key=where["key"],
                        payload_base64=base64.b64encode(record_.value or b"").decode(),
                        error=exc.error,
                    )
                    await publish(topics.dlq_topic(topic), key, letter)
                    log.warning("message dead-lettered", error=exc.error)
                    record(topic, "dead_lettered", started)
                    return None
                except Rejected as exc:
                    if rejections_topic is None:
                        raise
                    await publish(rejections_topic, key, exc.to_event())
                    log.info(
                        "command rejected",
                        command_id=str(exc.command_id),
                        command_type=exc.command_type,
                        reason=exc.reason,
                    )
                    record(topic, "rejected", started)
                    return None
                except RetryLater as exc:
                    log.info("message not handled yet; it will be retried", why=str(exc))
                    record(topic, "retried", started)
                    await asyncio.sleep(retry_backoff_seconds)
                    raise
                except Exception:
                    log.exception("message failed; it will be retried")
                    record(topic, "failed", started)
                    await asyncio.sleep(retry_backoff_seconds)
                    raise
                record(topic, "handled", started)
                return result

    return ReadingMiddleware
