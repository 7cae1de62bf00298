"""The clock guard end to end (docs/contract.md §4 ClockTicked): a charger with the default bound
(CLOCK_MAX_AHEAD_SECONDS 86,400, which the harness otherwise turns off) refuses a tick 26 days
ahead of its wall clock (TickRefused on charger.events, key `clock`, once however often the
tick is read), charges nothing for it, and then takes a tick at the wall clock as usual,
another customer's work included; `pkgctl tick --wait` explains a refusal and exits 1."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pkgcontract import topics
from pkgtools.testing.scenario import WATCHED, Scenario
from pkgtools.testing.system import body, command, started_system
from tests.e2e.cli import pkgctl


@pytest.fixture
async def guarded(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> AsyncIterator[Scenario]:
    """The three services, the charger with the contract's default bound."""
    modules = ("catalog", "assignment", "charger")
    async with (
        started_system(
            kafka_bootstrap, database_url, tmp_path, *modules, CLOCK_MAX_AHEAD_SECONDS="86400"
        ) as system,
        system.reader(*WATCHED) as reader,
    ):
        yield Scenario(system, reader)


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _get(s: Scenario, path: str) -> str:
    port = s.system.services["charger"].port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return str(answer.read().decode())


async def test_a_tick_26_days_ahead_is_refused_and_the_next_one_at_now_is_taken(
    guarded: Scenario,
) -> None:
    s = guarded
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    daily = await s.define(frequency="daily", frequency_match=[], retail="1.00")
    early = await s.assign(daily["package_id"], start_date=str(today - timedelta(days=1)))

    far = command("ClockTicked", tick_id=str(uuid.uuid4()), at=_instant(now + timedelta(days=26)))
    sent = datetime.now(UTC)
    await s.system.send(topics.CLOCK_TICKS, far, key="clock")
    [record] = await s.reader.wait_count(1, timeout=60, event_type="TickRefused")
    refused = body(record)
    assert record.topic == s.system.topic(topics.CHARGER_EVENTS) and record.key == b"clock"
    expected_id = uuid.uuid5(uuid.NAMESPACE_URL, f"packages:refused:{far['tick_id']}")
    assert refused["event_id"] == str(expected_id)
    assert (refused["tick_id"], refused["at"]) == (far["tick_id"], far["at"])
    wall = datetime.fromisoformat(refused["wall_clock"])
    assert sent - timedelta(seconds=5) <= wall <= datetime.now(UTC)
    ahead = timedelta(seconds=int((datetime.fromisoformat(far["at"]) - wall).total_seconds()))
    assert str(ahead).startswith("25 days, 23:") and str(ahead) in refused["reason"]
    assert "CLOCK_MAX_AHEAD_SECONDS (86400 s)" in refused["reason"]
    assert json.loads(_get(s, "/clock"))["tick_at"] is None  # the clock did not move
    assert "charger_ticks_refused_total 1.0" in _get(s, "/metrics")

    # The same tick again (sent twice by its producer), then pkgctl asked to wait for a
    # tick as far ahead: it says why it was refused and how to proceed.
    await s.system.send(topics.CLOCK_TICKS, far, key="clock")
    answer = await pkgctl(s, "tick", "--at", _instant(now + timedelta(days=26)), "--wait")
    assert answer.returncode == 1, answer.stdout + answer.stderr
    explained = " ".join(answer.stderr.split())
    assert "refused" in explained and "wall clock said" in explained, explained
    assert "CLOCK_MAX_AHEAD_SECONDS=0" in explained, explained

    # Another customer's work meanwhile, then a tick at the wall clock: both are charged as
    # usual, and the refused tick charged nothing ahead.
    other = f"{s.customer}-other"
    started = time.monotonic()
    late = await s.assign(daily["package_id"], customer=other, start_date=str(today))
    tick_at = datetime.now(UTC)
    await s.settle(_instant(tick_at))
    took = time.monotonic() - started
    print(f"another customer's assignment and its debit at the accepted tick: {took:.1f} s")
    assert took < 30, f"another customer's work took {took:.1f} s"

    charged = s.of("CreditDebited", assignment_id=early)
    assert [d["period_start"] for d in charged] == [str(today - timedelta(days=1)), str(today)]
    assert [d["period_start"] for d in s.of("CreditDebited", assignment_id=late)] == [str(today)]
    assert [r["tick_id"] for r in s.of("TickRefused")].count(far["tick_id"]) == 1
    assert len(s.of("TickRefused")) == 2  # the far tick once, pkgctl's once
    assert not [x for x in s.of("ChargesSettled") if x["tick_id"] == far["tick_id"]]
    clock: dict[str, Any] = json.loads(_get(s, "/clock"))
    assert datetime.fromisoformat(clock["tick_at"]) == tick_at
