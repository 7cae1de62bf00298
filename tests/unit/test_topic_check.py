"""What the contract's topics must be on a cluster of a given size, and the report of how
described topics differ from it (pkgshared.topic_check: pure, no broker)."""

from __future__ import annotations

import pytest

from pkgcontract import topics
from pkgcontract.topics import TOPICS, TopicSpec
from pkgshared.topic_check import (
    DescribedTopic,
    Difference,
    Durability,
    default_durability,
    differences,
    resolve_durability,
    topic_config,
)

CLUSTER = Durability(3, 2)


@pytest.mark.parametrize(
    ("brokers", "factor", "insync"),
    [(1, 1, 1), (2, 2, 1), (3, 3, 2), (4, 3, 2), (9, 3, 2)],
)
def test_the_default_durability_follows_the_brokers(brokers: int, factor: int, insync: int) -> None:
    assert default_durability(brokers) == Durability(factor, insync)
    assert resolve_durability(brokers) == Durability(factor, insync)


def test_a_cluster_without_brokers_has_no_default() -> None:
    with pytest.raises(ValueError, match="no broker"):
        default_durability(0)


@pytest.mark.parametrize(
    ("brokers", "factor", "insync", "expected"),
    [
        (5, 5, None, Durability(5, 2)),  # min ISR from the factor given
        (5, 2, None, Durability(2, 1)),
        (3, None, 3, Durability(3, 3)),  # the factor from the brokers
        (3, 1, None, Durability(1, 1)),
        (1, 1, 1, Durability(1, 1)),
    ],
)
def test_what_is_given_wins_over_the_defaults(
    brokers: int, factor: int | None, insync: int | None, expected: Durability
) -> None:
    assert resolve_durability(brokers, factor, insync) == expected


@pytest.mark.parametrize(
    ("brokers", "factor", "insync", "message"),
    [
        (1, 3, None, "replication factor 3 needs as many brokers; the cluster reports 1"),
        (2, 3, 2, "replication factor 3 needs as many brokers; the cluster reports 2"),
        (1, None, 2, "min.insync.replicas 2: between 1 and the replication factor 1"),
        (3, 3, 4, "min.insync.replicas 4: between 1 and the replication factor 3"),
        (3, 0, None, "replication factor 0: at least 1"),
        (3, None, 0, "min.insync.replicas 0"),
    ],
)
def test_a_durability_the_cluster_cannot_hold_is_refused(
    brokers: int, factor: int | None, insync: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_durability(brokers, factor, insync)


def test_new_topics_carry_the_contract_settings_and_the_min_insync_replicas() -> None:
    balances = next(s for s in TOPICS if s.name == topics.ALLOWANCE_BALANCES)
    config = topic_config(balances, CLUSTER)
    assert config == {**balances.config, "min.insync.replicas": "2"}
    assert config["cleanup.policy"] == "compact"
    assert balances.config.get("min.insync.replicas") is None  # the spec itself is unchanged


def as_created(spec: TopicSpec, durability: Durability = CLUSTER, **changes: str) -> DescribedTopic:
    """`spec` as the cluster describes it once created with `durability` (broker defaults
    included), then with `changes` to its settings."""
    config = {"cleanup.policy": "delete", "segment.bytes": "1073741824"}
    config.update(topic_config(spec, durability))
    config.update(changes)
    return DescribedTopic(spec.name, spec.partitions, durability.replication_factor, config)


def test_topics_as_created_do_not_differ() -> None:
    for durability in (Durability(1, 1), Durability(2, 1), CLUSTER):
        described = {s.name: as_created(s, durability) for s in TOPICS}
        assert differences(TOPICS, described, durability) == []


def test_more_copies_and_more_in_sync_than_asked_do_not_differ() -> None:
    spec = TopicSpec("t", 6)
    described = DescribedTopic("t", 6, 5, {"cleanup.policy": "delete", "min.insync.replicas": "3"})
    assert differences([spec], {"t": described}, CLUSTER) == []


def test_each_difference_names_topic_setting_found_and_expected() -> None:
    packages, balances, ticks, rated = (
        next(s for s in TOPICS if s.name == name)
        for name in (
            topics.CATALOG_PACKAGES,
            topics.ALLOWANCE_BALANCES,
            "clock.ticks",
            "usage.rated",
        )
    )
    described = {
        # auto-created by a broker: its defaults, not the contract's
        packages.name: DescribedTopic(
            packages.name, 1, 1, {"cleanup.policy": "delete", "min.insync.replicas": "1"}
        ),
        balances.name: as_created(balances, **{"cleanup.policy": "compact,delete"}),
        ticks.name: as_created(ticks, **{"retention.ms": "604800000"}),
    }
    found = differences([packages, balances, ticks, rated], described, CLUSTER)
    assert found == [
        Difference(packages.name, "partitions", "1", "3"),
        Difference(packages.name, "replication factor", "1", "at least 3"),
        Difference(packages.name, "cleanup.policy", "delete", "compact"),
        Difference(packages.name, "min.compaction.lag.ms", "unset", "60000"),
        Difference(packages.name, "max.message.bytes", "unset", str(4 * 1024 * 1024)),
        Difference(packages.name, "min.insync.replicas", "1", "at least 2"),
        Difference(balances.name, "cleanup.policy", "compact,delete", "compact"),
        Difference(ticks.name, "retention.ms", "604800000", "-1"),
        Difference(rated.name, "topic", "missing", "present"),
    ]
    assert str(found[0]) == "catalog.packages: partitions is 1, expected 3"


def test_min_insync_above_the_copies_is_a_difference() -> None:
    """Above its copies no acks=all write to the topic can succeed."""
    spec = TopicSpec("t", 1)
    described = DescribedTopic("t", 1, 3, {"cleanup.policy": "delete", "min.insync.replicas": "4"})
    assert differences([spec], {"t": described}, CLUSTER) == [
        Difference(
            "t", "min.insync.replicas", "4", "at most 3 (its replicas; no write succeeds above)"
        )
    ]


@pytest.mark.parametrize("value", [None, "", "two"])
def test_an_unreadable_min_insync_is_a_difference(value: str | None) -> None:
    config = {"cleanup.policy": "delete"} | (
        {} if value is None else {"min.insync.replicas": value}
    )
    found = differences([TopicSpec("t", 1)], {"t": DescribedTopic("t", 1, 3, config)}, CLUSTER)
    assert [(d.setting, d.expected) for d in found] == [("min.insync.replicas", "at least 2")]
