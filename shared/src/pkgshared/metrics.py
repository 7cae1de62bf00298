"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "packages_messages_total",
    "Messages consumed, by topic and outcome (handled, rejected, dead_lettered, retried, failed, "
    "held: waiting, to be handled later).",
    ["topic", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "packages_handler_seconds", "Time to handle one consumed message.", ["topic"]
)
OUTBOX_BACKLOG = Gauge("packages_outbox_backlog", "Events written but not yet published.")
OUTBOX_PUBLISHED = Counter("packages_outbox_published_total", "Events published from the outbox.")
OUTBOX_FAILURES = Counter(
    "packages_outbox_publish_failures_total",
    "Failed attempts to publish the outbox (events, dead letters among them, stay and are "
    "retried).",
)


def record_outcomes(topic: str, outcome: str, count: int, seconds_each: float) -> None:
    """`count` messages of a batch with one outcome; the histogram gets the batch's mean time
    per message once."""
    MESSAGES.labels(topic=topic, outcome=outcome).inc(count)
    HANDLER_SECONDS.labels(topic=topic).observe(seconds_each)


CONSUMER_LAG = Gauge(
    "packages_consumer_lag",
    "Records on a consumed partition not yet handled: its end offset less the offset this "
    "service's state has read to (measured every PROBE_INTERVAL_SECONDS).",
    ["group", "topic", "partition"],
)
DEAD_LETTERS = Gauge(
    "packages_dead_letters",
    "Records on <topic>.dlq (the sum of its partitions' end offsets: every dead letter the "
    "topic still keeps, whoever wrote it).",
    ["topic"],
)
