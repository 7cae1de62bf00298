"""Kafka plumbing shared by the services: security options, the broker, the producer and the
batch publisher of the outbox relay. How records are consumed is pkgshared.consuming."""

from __future__ import annotations

import asyncio
import ssl
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog
from aiokafka.partitioner import DefaultPartitioner

from pkgcontract.messages import Message
from pkgshared.settings import ServiceSettings

if TYPE_CHECKING:
    # FastStream is imported where a broker is made, not with this module: pkgctl and the
    # scripts use the clients' options here without it (it is most of a CLI's start time).
    from faststream.kafka import KafkaBroker
    from faststream.security import BaseSecurity

log = structlog.get_logger(__name__)


MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""The largest record the system writes or reads: producers, consumers, the broker and every
topic are configured for it. The largest event the services emit is a DeadLetter of a 256 KiB
cut (about 350 KB in base64) or a report part of 2,000 lines (about 500 KB); inputs up to this
size are read and dead-lettered like any other."""


def tls_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """The TLS context of every Kafka client (SSL, SASL_SSL): verifies the broker's name and
    certificate against KAFKA_SSL_CAFILE, or the system's trust store when unset."""
    if settings.kafka_security_protocol.upper() not in ("SSL", "SASL_SSL"):
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)


def kafka_security(settings: ServiceSettings) -> BaseSecurity | None:
    """FastStream security object for the configured protocol (None: plaintext)."""
    from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

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
        "max_request_size": MAX_MESSAGE_BYTES,
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


HASHES_KEPT = 250_000
"""Keys whose partitioning hash a publisher keeps (at most about 35 MB): more than the 110,000
keys of the allowance benchmark (10,000 customers, 100,000 grants)."""

_M = 0x5BD1E995
_WORDS: dict[int, struct.Struct] = {}


def murmur2(data: bytes) -> int:
    """The Java client's murmur2 of a key, as aiokafka.partitioner.murmur2 computes it (a test
    holds it to that), at less than half its cost: the 32-bit words unpacked at once, and
    only the masks that keep each product to 32 bits."""
    length = len(data)
    h = 0x9747B28C ^ length
    words = _WORDS.get(length)
    if words is None:
        words = struct.Struct(f"<{length // 4}I")
        if length <= 256:  # keys of every length may come: those of ids are kept
            _WORDS[length] = words
    for k in words.unpack_from(data):
        k = (k * _M) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * _M) & 0xFFFFFFFF
        h = ((h * _M) & 0xFFFFFFFF) ^ k
    rest, tail = length & 3, length & ~3
    if rest:
        if rest >= 3:
            h ^= data[tail + 2] << 16
        if rest >= 2:
            h ^= data[tail + 1] << 8
        h = ((h ^ data[tail]) * _M) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * _M) & 0xFFFFFFFF
    return h ^ (h >> 15)


class BatchPublisher:
    """Publishes many records with one producer call per (topic, partition) batch rather than
    one per record, which was a tenth of the charger's time. Same idempotent acks=all producer,
    same partitioner as a plain `send` (murmur2 of the key, as the Java clients), and each
    partition's records in the order given."""

    def __init__(self, producer: Any, topic_prefix: str = "") -> None:
        self._producer = producer
        self._prefix = topic_prefix
        self._partitioner = DefaultPartitioner()
        # murmur2 is pure Python (docs/benchmarks.md, "Micro-costs"); most keys recur.
        self._hashes: dict[bytes, int] = {}

    async def __call__(self, records: Sequence[tuple[str, bytes | None, bytes, Any]]) -> None:
        partitions: dict[str, tuple[str, list[int]]] = {}  # by contract topic name
        open_batches: dict[tuple[str, int], Any] = {}
        pending = []
        for name, key, value, headers in records:
            known = partitions.get(name)
            if known is None:  # metadata read once per call: an added partition counts
                topic = self._prefix + name
                known = partitions[name] = (
                    topic,
                    sorted(await self._producer.partitions_for(topic)),
                )
            topic, every = known
            if key is None:
                partition = self._partitioner(key, every, every)
            else:
                hashed = self._hashes.get(key)
                if hashed is None:
                    if len(self._hashes) >= HASHES_KEPT:
                        self._hashes.clear()
                    hashed = self._hashes[key] = murmur2(key) & 0x7FFFFFFF
                partition = every[hashed % len(every)]
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


def bootstrap_servers(settings: ServiceSettings) -> list[str]:
    """KAFKA_BOOTSTRAP_SERVERS as a list: `host:port`, several comma-separated (a cluster's
    brokers). aiokafka splits a string itself; FastStream takes one string as one server."""
    return [s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()]


def make_broker(settings: ServiceSettings, client_id: str, **kwargs: Any) -> KafkaBroker:
    """A broker whose producer is idempotent with acks=all (no duplicate, no loss on retry)."""
    from faststream.kafka import KafkaBroker

    return KafkaBroker(
        bootstrap_servers(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        security=kafka_security(settings),
        logger=None,
        # Consumers read raw records themselves (pkgshared.consuming): whatever a record holds,
        # nothing is validated before the handler decides what becomes of it.
        apply_types=False,
        **kwargs,
    )


def message_headers(message: Message) -> dict[str, str]:
    return {"event_type": message.TYPE}
