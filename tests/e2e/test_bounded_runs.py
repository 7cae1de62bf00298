"""The work one message causes is bounded and done in pieces (docs/contract.md §2 "Bounded work",
§4 RunPackage): the largest run the contract allows (several daily assignments years back,
charged to RUN_PACKAGE_MAX_DAYS after the latest tick) runs beside another customer's
RunPackage, which is still answered within seconds; no consumer group of the charger
rebalances and /health answers throughout. The three services as processes, driven only
through Kafka."""

from __future__ import annotations

import asyncio
import os
import re
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from pkgcontract import topics
from pkgshared import topic_admin
from pkgtools.testing.processes import ServiceProcess
from pkgtools.testing.scenario import WATCHED, Scenario
from pkgtools.testing.system import System

START = date.fromisoformat(os.environ.get("RUN_TEST_START", "2021-01-01"))
"""Five years of daily charges before the first tick (RUN_TEST_START=1900-01-01 measures
the most the contract's dates allow)."""
TICK = "2026-01-01T00:00:00Z"
HORIZON = date(2026, 1, 1) + timedelta(days=366)  # RUN_PACKAGE_MAX_DAYS' default
ASSIGNMENTS = 3
OTHER_WITHIN_SECONDS = 10.0  # a wide margin: the bound is about a second of held loop
REBALANCE = re.compile(r"rebalanc|heartbeat|revok|generation|re-?join|coordinator", re.I)
"""What aiokafka logs (at WARNING and above, as the services keep it) when a group's member
misses its session or the group rebalances."""


@pytest.fixture
async def runs(kafka_bootstrap: str, database_url: str, tmp_path: Path) -> AsyncIterator[Scenario]:
    """The three services, the charger's clock bound off (the ticks are years from the wall
    clock) and its consumer groups named for this test alone (the default group names are
    shared by every charger on the broker, whose comings and goings would rebalance them),
    and a scenario reading what they publish."""
    system = System(kafka_bootstrap, database_url, tmp_path)
    await topic_admin.create_topics(kafka_bootstrap, topics.with_prefix(system.prefix))
    try:
        system.service("catalog").start()
        system.service("assignment").start()
        group = system.prefix + "charger"
        system.service("charger", CLOCK_MAX_AHEAD_SECONDS="0", CONSUMER_GROUP=group).start()
        for process in system.services.values():
            process.wait_healthy()
        async with system.reader(*WATCHED) as reader:
            yield Scenario(system, reader)
    finally:
        system.stop_all()
        await system.drop()


async def _run(s: Scenario, customer: str, day: date, simulate: bool) -> str:
    request = str(uuid.uuid4())
    await s.send(
        topics.CHARGER_COMMANDS,
        "RunPackage",
        customer,
        request_id=request,
        customer_id=customer,
        date=day.isoformat(),
        simulate=simulate,
    )
    return request


async def _report(s: Scenario, request: str, timeout: float = 300) -> list[dict[str, Any]]:
    """Every part of a run's report, once all have arrived, in part order."""
    first = await s.reader.wait_count(
        1, timeout=timeout, event_type="PackageRunReported", request_id=request
    )
    parts = int(s.of("PackageRunReported", request_id=request)[0]["parts"]) if first else 1
    await s.reader.wait_count(
        parts, timeout=timeout, event_type="PackageRunReported", request_id=request
    )
    return sorted(s.of("PackageRunReported", request_id=request), key=lambda p: p["part"])


class Health:
    """/health asked every 0.2 s from a thread: how long each answer took."""

    def __init__(self, process: ServiceProcess) -> None:
        self.url = f"http://127.0.0.1:{process.port}/health"
        self.answers: list[tuple[int, float]] = []
        self._task: asyncio.Task[None] | None = None

    def _ask(self) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(self.url, timeout=5) as resp:
                return resp.status, time.perf_counter() - started
        except OSError:
            return 0, time.perf_counter() - started

    async def _loop(self) -> None:
        while True:
            self.answers.append(await asyncio.to_thread(self._ask))
            await asyncio.sleep(0.2)

    def __enter__(self) -> Health:
        self._task = asyncio.create_task(self._loop())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


def _rebalances(log: Path, since: int) -> list[str]:
    with log.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    return [line for line in text.splitlines() if REBALANCE.search(line)]


async def test_the_largest_run_leaves_another_customer_s_run_and_health_going(
    runs: Scenario,
) -> None:
    s = runs
    charger = s.system.services["charger"]
    daily = await s.define(frequency="daily", frequency_match=[], retail="1.00")
    monthly = await s.define(frequency="monthly", frequency_match=[1], retail="3.00")
    big = f"{s.customer}-big"
    mine = [
        await s.assign(daily["package_id"], customer=big, start_date=START.isoformat())
        for _ in range(ASSIGNMENTS)
    ]
    await s.assign(monthly["package_id"], start_date="2026-01-01")
    await s.settle(TICK)  # five years due at once: the big customer's assignments are held
    assert sorted(h["assignment_id"] for h in s.of("ChargesHeld")) == sorted(mine)

    too_far = await s.send(
        topics.CHARGER_COMMANDS,
        "RunPackage",
        big,
        request_id=str(uuid.uuid4()),
        customer_id=big,
        date=(HORIZON + timedelta(days=1)).isoformat(),
        simulate=True,
    )
    (rejected,) = await s.wait(1, event_type="CommandRejected", command_id=too_far["event_id"])
    assert "RUN_PACKAGE_MAX_DAYS (366)" in rejected["reason"]

    # Simulated at the horizon: one held line per assignment, counted without charging.
    (simulated,) = await _report(s, await _run(s, big, HORIZON, simulate=True))
    due = (HORIZON + timedelta(days=1) - START).days + 1
    assert [(ln["status"], ln["count"]) for ln in simulated["lines"]] == [("held", due)] * 3
    assert simulated["totals"] == {}

    log_from = charger.log_path.stat().st_size
    with Health(charger) as health:
        started = time.perf_counter()
        big_request = await _run(s, big, HORIZON, simulate=False)
        other_request = await _run(s, s.customer, HORIZON, simulate=True)
        await s.reader.wait_count(
            1, timeout=60, event_type="PackageRunReported", request_id=other_request
        )
        other_seconds = time.perf_counter() - started
        parts = await _report(s, big_request)
        big_seconds = time.perf_counter() - started
    lines = [ln for p in parts for ln in p["lines"]]
    assert REBALANCE.search("Heartbeat session expired - marking coordinator dead")
    rebalances = _rebalances(charger.log_path, log_from)
    slowest = max(t for _, t in health.answers)
    print(
        f"\nlargest run: {len(lines)} lines in {len(parts)} parts, {big_seconds:.1f} s; "
        f"the other customer's report after {other_seconds:.2f} s; /health answered "
        f"{len(health.answers)} times, slowest {slowest:.3f} s; rebalances: {len(rebalances)}"
    )
    assert len(lines) == ASSIGNMENTS * due
    assert {ln["status"] for ln in lines} == {"charged"}
    assert other_seconds < OTHER_WITHIN_SECONDS
    assert health.answers and {status for status, _ in health.answers} == {200}
    assert slowest < 2.0
    assert rebalances == []
