"""Every producer the chassis builds waits for all in-sync replicas (acks=all) and is
idempotent: a record is acknowledged only once min.insync.replicas copies hold it, so losing
the broker that led its partition loses no acknowledged record (docs/scaling.md)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from pkgshared.kafka import bootstrap_servers, make_broker, producer_options
from pkgshared.settings import ServiceSettings

SETTINGS = ServiceSettings(kafka_bootstrap_servers="broker-1:9092,broker-2:9092")
ALL = -1  # aiokafka's (and Kafka's) number for acks=all


def test_the_relay_and_ticker_producer_options_say_acks_all() -> None:
    options = producer_options(SETTINGS, "relay")
    assert options["acks"] == "all"
    assert options["enable_idempotence"] is True


async def test_a_producer_built_from_them_waits_for_all_replicas() -> None:
    producer = AIOKafkaProducer(**producer_options(SETTINGS, "relay"))
    try:
        assert producer._sender._acks == ALL
    finally:
        await producer.stop()  # never started: closes nothing but the client object


def test_the_faststream_broker_produces_with_acks_all() -> None:
    broker = make_broker(SETTINGS, "catalog")
    assert broker._connection_kwargs["acks"] == "all"
    assert broker._connection_kwargs["enable_idempotence"] is True


async def test_the_operator_and_test_producer_says_acks_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pkgtools.topic_io.produce_keyed: pkgctl's sends and the tests' records."""
    from pkgtools import topic_io

    built: list[dict[str, Any]] = []

    class Unreachable(AIOKafkaProducer):
        def __init__(self, **options: Any) -> None:
            built.append(options)
            super().__init__(**options)

        async def start(self) -> None:
            raise ConnectionError("no broker in a unit test")

    monkeypatch.setattr(topic_io, "AIOKafkaProducer", Unreachable)
    with pytest.raises(ConnectionError):
        await topic_io.produce_keyed("broker-1:9092", "t", [("k", {"n": 1})])
    assert [(o["acks"], o["enable_idempotence"]) for o in built] == [("all", True)]


def test_every_broker_of_a_comma_separated_list_is_a_bootstrap_server() -> None:
    # FastStream took "a:1,b:2" for one host named "a:1,b:2,..." (found on the compose cluster:
    # every service failed to start), while aiokafka's own clients split it.
    assert bootstrap_servers(
        ServiceSettings(kafka_bootstrap_servers=" k1:9094, k2:9094,k3:9094")
    ) == [
        "k1:9094",
        "k2:9094",
        "k3:9094",
    ]
    broker = make_broker(SETTINGS, "ticker")
    builder = broker.config.configs[0].builder
    assert builder.keywords["bootstrap_servers"] == ["broker-1:9092", "broker-2:9092"]
