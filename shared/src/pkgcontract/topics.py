"""The contract's topics (docs/contract.md §3): names, partitions, settings. Names only: creating
them is `pkgshared.topic_admin`'s, so a client that needs a topic name loads no Kafka client."""

from __future__ import annotations

from dataclasses import dataclass, field

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
"""Each topic's record key (docs/contract.md §3); a .dlq keeps its source record's key."""

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
