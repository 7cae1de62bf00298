"""deploy/compose/cluster.yml (three brokers, two instances of every service) checked against
docker-compose.yml and the code, and the cluster test's expected events (scripts/
cluster_history.py) against the contract's keys, without a Docker engine."""

from __future__ import annotations

import importlib.util
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from charger.config import ChargerSettings
from pkgcontract.messages import natural_event_id_str

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


class _Loader(yaml.SafeLoader):
    """Compose's merge tags (`!override`, `!reset`) read as plain values."""


_Loader.add_constructor("!override", lambda loader, node: loader.construct_sequence(node))
_Loader.add_constructor("!reset", lambda loader, node: None)

CLUSTER: dict[str, Any] = yaml.load((ROOT / "deploy/compose/cluster.yml").read_text(), _Loader)
BASE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = CLUSTER["services"]
BROKERS = ("kafka", "kafka-2", "kafka-3")
APPS = ("catalog", "assignment", "charger", "allowance")


def test_three_brokers_each_a_voter_with_copies_of_three_and_two_in_sync() -> None:
    ids = set()
    for name in BROKERS:
        env = SERVICES[name]["environment"]
        ids.add(env["KAFKA_NODE_ID"])
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
        for factor in (
            "OFFSETS_TOPIC_REPLICATION_FACTOR",
            "TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
            "SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
            "DEFAULT_REPLICATION_FACTOR",
        ):
            assert env[f"KAFKA_{factor}"] == "3", (name, factor)
        for isr in ("TRANSACTION_STATE_LOG_MIN_ISR", "SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR"):
            assert env[f"KAFKA_{isr}"] == "2", (name, isr)
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        heap = env["KAFKA_HEAP_OPTS"]
        assert "-Xmx" in heap and int(heap.split("-Xmx")[1].rstrip("m")) <= 512
    assert ids == {"1", "2", "3"}
    for name in ("kafka-2", "kafka-3"):
        assert SERVICES[name]["extends"]["service"] == "kafka"
        advertised = SERVICES[name]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
        assert f"INTERNAL://{name}:9094" in advertised
        assert SERVICES[name]["volumes"] == [f"{name}-data:/var/lib/kafka/data"]


def test_topics_are_made_with_three_copies_and_two_in_sync_on_every_broker() -> None:
    command = SERVICES["topic-init"]["command"]
    assert command[command.index("--replication-factor") + 1] == "3"
    assert command[command.index("--min-insync-replicas") + 1] == "2"
    assert command[command.index("--bootstrap") + 1] == "kafka:9094,kafka-2:9094,kafka-3:9094"
    assert SERVICES["kafka-init"]["environment"]["BOOTSTRAP"].count(":9094") == 3
    assert "${BOOTSTRAP:-kafka:9094}" in (ROOT / "deploy/compose/kafka-init.sh").read_text()


def test_two_instances_of_every_service_and_one_ticker() -> None:
    for app in APPS:
        second = SERVICES[f"{app}-2"]
        assert second["extends"] == {"file": "docker-compose.yml", "service": app}
        for name in (app, f"{app}-2"):
            env = SERVICES[name]["environment"]
            assert env["KAFKA_BOOTSTRAP_SERVERS"].count(":9094") == 3, name
            assert set(SERVICES[name]["depends_on"]) >= set(BROKERS)
    assert not any(name.startswith("ticker-") for name in SERVICES)
    assert SERVICES["ticker"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"].count(":9094") == 3


def test_chargers_take_ticks_far_from_the_wall_clock() -> None:
    assert "clock_max_ahead_seconds" in ChargerSettings.model_fields
    for name in ("charger", "charger-2"):
        assert SERVICES[name]["environment"]["CLOCK_MAX_AHEAD_SECONDS"] == "0"


def test_published_ports_are_on_the_loopback_and_distinct_from_the_base_files() -> None:
    base = [p for s in BASE["services"].values() for p in s.get("ports", [])]
    added = [p for s in SERVICES.values() for p in s.get("ports", [])]
    assert added and all(p.startswith("127.0.0.1:") for p in added)
    published = [p.split(":")[1] for p in base + added]
    assert len(published) == len(set(published))


def _history() -> Any:
    spec = importlib.util.spec_from_file_location(
        "cluster_history", ROOT / "scripts" / "cluster_history.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["cluster_history"] = module
    spec.loader.exec_module(module)
    return module


def test_the_expected_events_follow_the_contracts_keys() -> None:
    h = _history()
    history = h.build(7, 40, 10, 5, 200, date(2026, 12, 6))
    expected = history.expected()
    first, last = history.first_tick.date(), history.big_tick.date()
    assert (first, last) == (date(2026, 12, 11), date(2026, 12, 16))
    ended = [a for a in history.assignments if a.end is not None]
    running = [a for a in history.assignments if a.end is None]
    assert ended and running
    for a in ended:  # debited up to the first tick, credited from the day after its end
        assert a.kind == "recurring" and a.start <= a.end < first
        assert natural_event_id_str(f"debit:{a.assignment_id}:{first}") in expected["CreditDebited"]
        after = first + timedelta(days=1)
        assert (
            natural_event_id_str(f"debit:{a.assignment_id}:{after}")
            not in expected["CreditDebited"]
        )
        assert natural_event_id_str(f"credit:{a.assignment_id}:{first}") in expected["CreditIssued"]
        assert (
            natural_event_id_str(f"credit:{a.assignment_id}:{a.end}")
            not in expected["CreditIssued"]
        )
    days = sum((last - a.start).days + 1 for a in running)
    days += sum((first - a.start).days + 1 for a in ended)
    assert len(expected["CreditDebited"]) == days
    free = [a for a in running if a.kind == "free_minutes"]
    assert len(expected["FreeMinutesGranted"]) == sum((last - a.start).days + 1 for a in free)
    assert len(expected["FreeMinutesUsed"]) == 200
    starts = {a.customer_id: a.start for a in free}
    for _, call in history.early_calls + history.stream_calls:
        day = date.fromisoformat(call["occurred_at"][:10])
        assert call["customer_id"] in starts and day < last  # inside a grant, settled by a tick
        assert day >= date(2026, 12, 8)  # after the compose ticker's moment (the wall clock)
    assert h.build(7, 40, 10, 5, 200, date(2026, 12, 6)).expected() != expected  # new ids each run
