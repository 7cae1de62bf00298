"""What a charge run leaves behind (charger.domain.charge_run) and how its events are written
(the unit of work's encoders): rows and events for each decision, the tally, the progress a
released catch-up leaves, and a domain event without an encoder refused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from charger.adapters.events import ENCODERS
from charger.domain.catch_up import Plan, Policy
from charger.domain.charge_run import Made, held_progress, latest_tick, left_by, outcomes
from charger.domain.charges import Charge, due_charges
from charger.domain.decisions import decide
from charger.domain.events import DebitDeclined, DebitMade, GrantMade
from charger.domain.model import MonthTotals, SpendLimit, Tracked
from pkgcontract.messages import ChargesSettled, natural_event_id
from pkgshared.uow import encoded

from .test_charges import assignment, version

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
MADE_AT = datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)


def _charges(**version_fields: object) -> list[Charge]:
    v = version(**version_fields)
    a = assignment(package_id=v.package_id)
    return due_charges(a, [v], AT).charges


def test_each_decision_gives_its_row_and_event_and_is_counted() -> None:
    charges = _charges(free_minutes=100)
    decisions = decide(charges, None, MonthTotals(), scheduled=True)
    assert {o for _, o in decisions} == {"charge"}
    made = Made()
    done = outcomes(decisions, "scheduled", MADE_AT, made)
    assert [r.key for r in done.rows] == [c.key for c, _ in decisions]
    assert {r.status for r in done.rows} == {"charged"}
    kinds = [type(e) for e in done.events]
    assert kinds.count(GrantMade) == made.grants > 0
    assert kinds.count(DebitMade) == made.charged > 0
    for event in done.events:
        event_type, payload = encoded(event, ENCODERS)
        body = json.loads(payload)
        assert body["event_type"] == event_type
        assert body["event_id"] == str(natural_event_id(event.charge.key))
        assert body["occurred_at"].startswith("2026-03-01T12:00:01")


def test_a_declined_debit_is_recorded_and_announced_and_a_skipped_one_is_neither() -> None:
    charges = _charges()
    limit = SpendLimit(monthly_limit=Decimal("0.01"), currency="GBP")
    declined = decide(charges[:1], limit, MonthTotals(), scheduled=True)
    made = Made()
    done = outcomes(declined, "scheduled", MADE_AT, made, "run-1")
    assert [r.status for r in done.rows] == ["declined"]
    assert [type(e) for e in done.events] == [DebitDeclined]
    event_type, payload = encoded(done.events[0], ENCODERS)
    assert event_type == "ChargeDeclined"
    assert json.loads(payload)["correlation_id"] == "run-1"
    assert made == Made(declined=1)

    skipped = outcomes([(charges[0], "skip")], "scheduled", MADE_AT, Made())
    assert skipped.rows == [] and skipped.events == []


def test_a_released_catch_up_goes_back_under_the_limit_once_caught_up() -> None:
    v = version()
    a = assignment(package_id=v.package_id, start_date=date(2026, 1, 1))
    t = Tracked(a, None, False, hold="released")
    due = due_charges(a, [v], AT)
    caught = Plan(t, due.charges, due.through, True, "released")
    left = left_by(caught, [v], AT, None, Policy(), False)
    assert left.caught_up and left.progress[-1] is None
    assert left.next_at is not None and left.next_at > AT

    behind = Plan(t, [], None, False, "released")
    still = left_by(behind, [v], AT, None, Policy(), False)
    assert not still.caught_up and still.progress[-1] == "released"
    assert held_progress(behind)[-1] == "held"


def test_the_latest_of_ticks_queued_together_is_handled() -> None:
    @dataclass
    class Tick:
        at: datetime
        n: int

    ticks = [Tick(AT, 1), Tick(AT.replace(hour=13), 2), Tick(AT, 3), Tick(AT.replace(hour=13), 4)]
    assert latest_tick(ticks).n == 4


def test_an_event_without_an_encoder_is_refused_and_a_message_writes_itself() -> None:
    with pytest.raises(TypeError, match="no encoder for Made"):
        encoded(Made(), ENCODERS)
    settled = ChargesSettled(event_id=natural_event_id("s"), tick_id=natural_event_id("t"), at=AT)
    assert encoded(settled, ENCODERS) == ("ChargesSettled", settled.to_json())
