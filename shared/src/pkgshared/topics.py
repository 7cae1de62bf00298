"""The contract's topics (CONTRACT.md §3) and how they are created.

`python -m pkgshared.topics create --bootstrap HOST:PORT` creates every topic that is missing and
leaves existing ones alone, so it is safe to run on every start (local scripts, compose init).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

CATALOG_COMMANDS = "catalog.commands"
CATALOG_PACKAGES = "catalog.packages"
ASSIGNMENT_COMMANDS = "assignment.commands"
ASSIGNMENT_EVENTS = "assignment.events"
CLOCK_TICKS = "clock.ticks"
USAGE_RATED = "usage.rated"
CHARGER_COMMANDS = "charger.commands"
CHARGER_EVENTS = "charger.events"
CREDIT_DEBITED = "billing.credit-debited"
FREE_MINUTES_GRANTED = "billing.free-minutes-granted"
CHARGER_PROGRESS = "charger.progress"
FREE_MINUTES_USED = "billing.free-minutes-used"
ALLOWANCE_BALANCES = "billing.allowance-balances"
ALLOWANCE_ALERTS = "billing.allowance-alerts"
CREDITS_ISSUED = "billing.credits-issued"

DLQ_SUFFIX = ".dlq"

KEYS = {
    CATALOG_COMMANDS: "package_id",
    CATALOG_PACKAGES: "package_id",
    ASSIGNMENT_COMMANDS: "customer_id",
    ASSIGNMENT_EVENTS: "customer_id",
    CLOCK_TICKS: "the string `clock`",
    USAGE_RATED: "customer_id",
    CHARGER_COMMANDS: "customer_id",
    CHARGER_EVENTS: "customer_id",
    CREDIT_DEBITED: "customer_id",
    FREE_MINUTES_GRANTED: "customer_id",
    CHARGER_PROGRESS: "the string `clock`",
    FREE_MINUTES_USED: "customer_id",
    ALLOWANCE_BALANCES: "grant_id",
    ALLOWANCE_ALERTS: "customer_id",
    CREDITS_ISSUED: "customer_id",
}
"""Each topic's record key (CONTRACT.md §3); a .dlq keeps its source record's key."""

# Event topics are the source from which a new instance rebuilds its state: keep them forever.
# Every topic takes the largest record the system writes (pkgshared.kafka.MAX_MESSAGE_BYTES).
_SIZED = {"max.message.bytes": str(4 * 1024 * 1024)}
_KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", **_SIZED}
_COMPACTED = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000", **_SIZED}


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return topic + DLQ_SUFFIX


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


CONSUMED_TOPICS: tuple[str, ...] = (
    CATALOG_COMMANDS,
    CATALOG_PACKAGES,
    ASSIGNMENT_COMMANDS,
    ASSIGNMENT_EVENTS,
    CLOCK_TICKS,
    USAGE_RATED,
    CHARGER_COMMANDS,
    FREE_MINUTES_GRANTED,
    CHARGER_PROGRESS,
)

STREAMS: frozenset[str] = frozenset({USAGE_RATED})
"""Inputs that arrive as a steady stream (every rated call) and are only stored by their
readers: consumed in large polls, read while the previous chunk is written
(pkgshared.runtime)."""

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(CATALOG_COMMANDS, 3, _SIZED),
    TopicSpec(CATALOG_PACKAGES, 3, _COMPACTED),
    TopicSpec(ASSIGNMENT_COMMANDS, 6, _SIZED),
    TopicSpec(ASSIGNMENT_EVENTS, 6, _KEEP_FOREVER),
    # One key ("clock"), so one partition: ticks are totally ordered.
    TopicSpec(CLOCK_TICKS, 1, _KEEP_FOREVER),
    TopicSpec(USAGE_RATED, 6, _KEEP_FOREVER),
    TopicSpec(CHARGER_COMMANDS, 6, _SIZED),
    TopicSpec(CHARGER_EVENTS, 6, _KEEP_FOREVER),
    TopicSpec(CREDIT_DEBITED, 6, _KEEP_FOREVER),
    TopicSpec(FREE_MINUTES_GRANTED, 6, _KEEP_FOREVER),
    # One key ("clock"), as the ticks it follows.
    TopicSpec(CHARGER_PROGRESS, 1, _KEEP_FOREVER),
    TopicSpec(FREE_MINUTES_USED, 6, _KEEP_FOREVER),
    # The latest balance per grant_id.
    TopicSpec(ALLOWANCE_BALANCES, 6, _COMPACTED),
    TopicSpec(ALLOWANCE_ALERTS, 6, _KEEP_FOREVER),
    TopicSpec(CREDITS_ISSUED, 6, _KEEP_FOREVER),
    *(TopicSpec(dlq_topic(t), 1, _KEEP_FOREVER) for t in CONSUMED_TOPICS),
)


def partitions_of(name: str) -> int:
    """How many partitions contract topic `name` is created with."""
    return next(s.partitions for s in TOPICS if s.name == name)


def with_prefix(prefix: str) -> tuple[TopicSpec, ...]:
    """The contract's topics under `prefix` (see the TOPIC_PREFIX setting)."""
    return tuple(TopicSpec(prefix + s.name, s.partitions, s.config) for s in TOPICS)


async def create_topics(
    bootstrap: str, specs: tuple[TopicSpec, ...] = TOPICS, **client_options: Any
) -> list[str]:
    """Create the missing topics of `specs`; return the names created (`client_options`:
    security)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **client_options
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        name=s.name,
                        num_partitions=s.partitions,
                        replication_factor=1,
                        topic_configs=s.config,
                    )
                    for s in missing
                ]
            )
        return [s.name for s in missing]
    finally:
        await admin.close()


async def cluster_id(bootstrap: str, **client_options: Any) -> str:
    """The Kafka cluster's id, as the broker reports it (`client_options`: security)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=30000, **client_options
    )
    await admin.start()
    try:
        found = (await admin.describe_cluster()).get("cluster_id")
    finally:
        await admin.close()
    if not found:
        raise RuntimeError(f"the broker at {bootstrap} reports no cluster id")
    return str(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pkgshared.topics")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create every missing contract topic")
    create.add_argument("--bootstrap", default="127.0.0.1:9092")
    sub.add_parser("list", help="print the contract's topics")
    short = sub.add_parser("cluster-tag", help="print 8 hex digits naming the Kafka cluster")
    short.add_argument("--bootstrap", default="127.0.0.1:9092")
    args = parser.parse_args(argv)
    # The services' security settings (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*), when set.
    from pkgshared.kafka import client_security
    from pkgshared.settings import ServiceSettings

    security = client_security(ServiceSettings())
    if args.command == "cluster-tag":
        import hashlib

        found = asyncio.run(cluster_id(args.bootstrap, **security))
        print(hashlib.sha256(found.encode()).hexdigest()[:8])
        return 0
    if args.command == "list":
        for spec in TOPICS:
            print(spec.name)
        return 0
    created = asyncio.run(create_topics(args.bootstrap, TOPICS, **security))
    print(f"created {len(created)} topic(s){': ' + ', '.join(created) if created else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
