"""`pkgctl tick --wait` when the charger refuses the tick (docs/contract.md §4 ClockTicked): it
waits on charger.progress and charger.events for either answer, prints the reason, the wall
clock and how to proceed, and exits 1 (the broker stood in for)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from pkgcontract import topics
from pkgctl import broker, charging
from pkgctl.app import app

pytestmark = pytest.mark.unit

runner = CliRunner()
AT = "2027-01-01T00:00:00Z"


def _answering(monkeypatch: pytest.MonkeyPatch, event_type: str) -> list[Any]:
    asked: list[Any] = []

    async def send(
        topic: str, key: str, message: Any, answers: Any, timeout: float, success: Any, since=None
    ):
        asked.append((topic, key, answers, success))
        found = {"event_type": event_type, "tick_id": str(message.tick_id), "at": AT}
        if event_type == "TickRefused":
            found |= {
                "wall_clock": "2026-12-06T04:00:00Z",
                "reason": "The tick is 25 days, 20:00:00 ahead of the charger's wall clock.",
            }
        return found

    monkeypatch.setattr(broker, "send", send)
    monkeypatch.setattr(charging, "charger_clock", lambda: None)
    return asked


def test_a_refused_tick_is_explained_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _answering(monkeypatch, "TickRefused")
    result = runner.invoke(app, ["tick", "--at", AT, "--wait"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    [(topic, key, answers, success)] = asked
    assert (topic, key) == (topics.CLOCK_TICKS, "clock")
    assert answers == (topics.CHARGER_PROGRESS, topics.CHARGER_EVENTS)
    assert {s["event_type"] for s in success} == {"ChargesSettled", "TickRefused"}
    text = " ".join(result.output.split())
    assert "refused" in text and "wall clock said 2026-12-06T04:00:00Z" in text
    assert "25 days, 20:00:00 ahead" in text and "CLOCK_MAX_AHEAD_SECONDS=0" in text


def test_a_settled_tick_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    _answering(monkeypatch, "ChargesSettled")
    result = runner.invoke(app, ["tick", "--at", AT, "--wait"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "every charge it made due is published" in result.output


def test_a_tick_sent_far_ahead_without_waiting_gets_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    async def send(*_args: Any) -> None:
        return None

    monkeypatch.setattr(broker, "send", send)
    result = runner.invoke(app, ["tick", "--at", "2999-01-01T00:00:00Z"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "CLOCK_MAX_AHEAD_SECONDS" in " ".join(result.output.split())
    near = runner.invoke(app, ["tick"], env={"COLUMNS": "200"})
    assert near.exit_code == 0 and "CLOCK_MAX_AHEAD_SECONDS" not in near.output
