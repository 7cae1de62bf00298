"""/metrics tells the truth: one message of each kind, and the counters and gauges that must
show it (outcomes handled / rejected / ignored / dead_lettered, consumer lag, dead letters per
topic, held assignments, declines made by RunPackage)."""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pkgcontract import topics
from pkgtools.testing.scenario import WATCHED, Scenario
from pkgtools.testing.system import command, define_package, started_system

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
async def probed(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> AsyncIterator[Scenario]:
    modules = ("catalog", "assignment", "charger")
    async with (
        started_system(
            kafka_bootstrap, database_url, tmp_path, *modules, PROBE_INTERVAL_SECONDS="0.5"
        ) as system,
        system.reader(*WATCHED, topics.CATALOG_COMMANDS + ".dlq") as reader,
    ):
        yield Scenario(system, reader)


def scrape(s: Scenario, service: str) -> Samples:
    port = s.system.services[service].port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def until(
    s: Scenario, service: str, want: dict[tuple[str, tuple[tuple[str, str], ...]], float]
) -> None:
    """Scrape `service` until every sample in `want` has its value (deadline 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        samples = await asyncio.to_thread(scrape, s, service)
        got = {k: samples.get(k, 0.0) for k in want}
        if got == want:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{service} /metrics: wanted {want}, got {got}")
        await asyncio.sleep(0.3)


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (name, tuple(sorted(labels.items())))


async def test_every_outcome_is_counted_as_what_it_was(probed: Scenario) -> None:
    s = probed
    daily = await s.define(frequency="daily", frequency_match=[], retail="0.10")
    monthly = await s.define(retail="1.00")
    # Again (a redelivery: ignored); its id with another body (rejected); a negative price
    # (rejected by the schema); bytes that are not JSON (dead-lettered).
    again = define_package(daily["package_id"], frequency="daily", retail="0.10")
    await s.system.send(topics.CATALOG_COMMANDS, again, key=again["package_id"])
    await s.system.send(topics.CATALOG_COMMANDS, again, key=again["package_id"])
    reused = again | {"retail": "0.20"}
    await s.system.send(topics.CATALOG_COMMANDS, reused, key=again["package_id"])
    negative = define_package("negative", retail="-5.00")
    await s.system.send(topics.CATALOG_COMMANDS, negative, key="negative")
    await s.system.send(topics.CATALOG_COMMANDS, b"\x00 not json", key="garbage")
    await s.wait(2, event_type="CommandRejected")
    catalog = "catalog.commands"
    await until(
        s,
        "catalog",
        {
            key("packages_messages_total", topic=catalog, outcome="handled"): 3,
            key("packages_messages_total", topic=catalog, outcome="ignored"): 1,
            key("packages_messages_total", topic=catalog, outcome="rejected"): 2,
            key("packages_messages_total", topic=catalog, outcome="dead_lettered"): 1,
            key("packages_dead_letters", topic=catalog): 1,
        },
    )

    # A tick, then one before it (ignored); an assignment two years back (held); a RunPackage
    # whose debit the spend limit declines.
    await s.assign(daily["package_id"], start_date="2024-06-01")
    tight = f"{s.customer}-tight"
    await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "SetSpendLimit",
        tight,
        customer_id=tight,
        monthly_limit="0.50",
        currency="GBP",
    )
    await s.assign(monthly["package_id"], customer=tight, start_date="2026-07-01")
    await s.settle("2026-06-01T00:00:00Z")
    await s.tick("2026-05-01T00:00:00Z")
    request_id = str(uuid.uuid4())
    run = command(
        "RunPackage", request_id=request_id, customer_id=tight, date="2026-07-01", simulate=False
    )
    await s.system.send(topics.CHARGER_COMMANDS, run, key=tight)
    await s.wait(1, event_type="PackageRunReported", request_id=request_id)
    assert len(s.of("ChargeDeclined", customer_id=tight)) == 1
    await until(
        s,
        "charger",
        {
            key("packages_messages_total", topic="clock.ticks", outcome="handled"): 1,
            key("packages_messages_total", topic="clock.ticks", outcome="ignored"): 1,
            key("charger_assignments_held"): 1,
            key("charger_held_total"): 1,
            key("charger_declined_total"): 1,
            key("packages_messages_total", topic="charger.commands", outcome="handled"): 1,
        },
    )
    # Everything sent is read: no lag left on any partition the charger consumes.
    samples = await asyncio.to_thread(scrape, s, "charger")
    lags = {k: v for k, v in samples.items() if k[0] == "packages_consumer_lag"}
    consumed = {dict(labels)["topic"] for _, labels in lags}
    assert consumed >= {"clock.ticks", "assignment.events", "catalog.packages", "usage.rated"}
    deadline = time.monotonic() + 30
    while any(lags.values()) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        samples = await asyncio.to_thread(scrape, s, "charger")
        lags = {k: v for k, v in samples.items() if k[0] == "packages_consumer_lag"}
    assert not any(lags.values()), {k: v for k, v in lags.items() if v}
