"""What the contract's topics must be on a given cluster, and how existing topics differ from
it: pure functions of the cluster's size and the described topics (no Kafka client here;
`pkgshared.topic_admin` describes the cluster and calls them).

Durability: with `replication_factor` copies of each partition and `min.insync.replicas` of them
required for an acks=all write, a topic survives the loss of `replication_factor - 1` brokers
without losing an acknowledged record, and keeps accepting writes while at least
`min.insync.replicas` copies are in sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pkgcontract.topics import TopicSpec

MIN_INSYNC = "min.insync.replicas"
CLEANUP_POLICY = "cleanup.policy"


@dataclass(frozen=True)
class Durability:
    """How many copies each partition has, and how many must hold a write before it is
    acknowledged (the producers write with acks=all)."""

    replication_factor: int
    min_insync_replicas: int

    def __post_init__(self) -> None:
        if self.replication_factor < 1:
            raise ValueError(f"replication factor {self.replication_factor}: at least 1")
        if not 1 <= self.min_insync_replicas <= self.replication_factor:
            raise ValueError(
                f"min.insync.replicas {self.min_insync_replicas}: between 1 and the "
                f"replication factor {self.replication_factor} (above it no write succeeds)"
            )


def default_durability(brokers: int) -> Durability:
    """What suits a cluster of `brokers`: three or more: 3 copies, 2 in sync (one broker may be
    lost with no loss and no pause in writes); two: 2 copies, 1 in sync (a lost broker loses no
    acknowledged record, and writes go on while it is down, on one copy until it is back: 2 in
    sync would stop every write while either broker is down); one: 1 and 1."""
    if brokers < 1:
        raise ValueError("the cluster reports no broker")
    if brokers >= 3:
        return Durability(3, 2)
    return Durability(brokers, 1)


def min_insync_for(replication_factor: int) -> int:
    """The min.insync.replicas that goes with a replication factor when only the factor is
    given: 2 when a broker can be lost with two copies left, else 1."""
    return 2 if replication_factor >= 3 else 1


def resolve_durability(
    brokers: int, replication_factor: int | None = None, min_insync_replicas: int | None = None
) -> Durability:
    """The durability asked for (either part may be left to the defaults of
    `default_durability`), refused when the cluster has too few brokers to place its copies."""
    if replication_factor is None:
        base = default_durability(brokers)
        factor, insync = base.replication_factor, base.min_insync_replicas
    else:
        factor, insync = replication_factor, min_insync_for(replication_factor)
    wanted = Durability(factor, insync if min_insync_replicas is None else min_insync_replicas)
    if wanted.replication_factor > brokers:
        raise ValueError(
            f"replication factor {wanted.replication_factor} needs as many brokers; "
            f"the cluster reports {brokers}"
        )
    return wanted


def topic_config(spec: TopicSpec, durability: Durability) -> dict[str, str]:
    """The settings a topic is created with: the contract's (TopicSpec.config), then
    min.insync.replicas of `durability`."""
    return {**spec.config, MIN_INSYNC: str(durability.min_insync_replicas)}


@dataclass(frozen=True)
class DescribedTopic:
    """An existing topic as the cluster describes it."""

    name: str
    partitions: int
    replication_factor: int
    """The fewest copies any of its partitions has."""
    config: Mapping[str, str]
    """Its effective settings (its own, else the broker's defaults)."""


@dataclass(frozen=True)
class Difference:
    """One setting of one topic that is not what the contract asks for."""

    topic: str
    setting: str
    found: str
    expected: str

    def __str__(self) -> str:
        return f"{self.topic}: {self.setting} is {self.found}, expected {self.expected}"


def differences(
    specs: Iterable[TopicSpec], described: Mapping[str, DescribedTopic], durability: Durability
) -> list[Difference]:
    """Every way the topics of `described` differ from `specs` on a cluster that should hold
    `durability`: a missing topic, its partition count, too few copies, and each setting of
    `topic_config` (the cleanup policy `delete` where the contract names none;
    min.insync.replicas at least the one asked for and at most the topic's copies)."""
    found: list[Difference] = []
    for spec in specs:
        topic = described.get(spec.name)
        if topic is None:
            found.append(Difference(spec.name, "topic", "missing", "present"))
        else:
            found.extend(_differences_of(spec, topic, durability))
    return found


def _differences_of(
    spec: TopicSpec, topic: DescribedTopic, durability: Durability
) -> list[Difference]:
    def differ(setting: str, found: object, expected: object) -> None:
        out.append(Difference(spec.name, setting, str(found), str(expected)))

    out: list[Difference] = []
    if topic.partitions != spec.partitions:
        differ("partitions", topic.partitions, spec.partitions)
    if topic.replication_factor < durability.replication_factor:
        differ(
            "replication factor",
            topic.replication_factor,
            f"at least {durability.replication_factor}",
        )
    expected = {CLEANUP_POLICY: "delete", **topic_config(spec, durability)}
    for setting, value in expected.items():
        actual = topic.config.get(setting)
        if setting == MIN_INSYNC:
            least, most = durability.min_insync_replicas, topic.replication_factor
            if actual is None or not actual.lstrip("-").isdigit() or int(actual) < least:
                differ(setting, _shown(actual), f"at least {least}")
            elif int(actual) > most:
                differ(setting, actual, f"at most {most} (its replicas; no write succeeds above)")
        elif actual != value:
            differ(setting, _shown(actual), value)
    return out


def _shown(value: str | None) -> str:
    return "unset" if value is None else value or '""'
