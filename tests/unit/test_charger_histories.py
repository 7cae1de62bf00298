"""The charger's domain and service layer on the in-memory fakes, against an independent
reference of docs/contract.md §5 and §7 (tests/unit/charger_reference.py): random histories of
packages of every frequency and kind, with and without daily proration, ticks, end dates moved
back and forth on running and finished assignments, spend limits and RunPackage; every debit,
grant, decline, credit and report line, and no other."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, event, given, settings

from charger.service_layer import runs, ticks
from charger.service_layer.charging import charge_batch
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.handlers import handle_events
from pkgcontract.messages import ClockTicked, Message, RunPackage
from tests.unit.charger_histories import CREDITS, DECLINES, EVERYTHING, POLICY, History, histories
from tests.unit.charger_history_play import check, features
from tests.unit.fakes.charger import FakeUnitOfWork

EXAMPLES = int(os.environ.get("CHARGER_HISTORIES", "150"))
"""Random histories per run (CHARGER_HISTORIES raises it for a longer search)."""

PLAYED: list[int] = [0]  # histories played in this process, for the record


class _Open:
    async def check(self, _id: object, _positions: object) -> None:
        pass


class FakeCharger:
    """The handlers on FakeUnitOfWork, driven as the consumers and the tick worker drive
    them: a change read is charged at once as of the latest tick."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()
        self.tick_id = uuid.uuid4()
        self.at: datetime | None = None

    async def project(self, events: list[Message]) -> None:
        await handle_events(events, self.uow)
        await self._drain()

    async def tick(self, at: datetime) -> None:
        tick = ClockTicked(tick_id=uuid.uuid4(), at=at)
        assert await ticks.accept_tick(tick, self.uow, Dependencies(inputs=_Open()))  # type: ignore[arg-type]
        self.at, self.tick_id = at, tick.tick_id
        await self._drain()

    async def _drain(self) -> None:
        if self.at is None:
            return
        for _ in range(1000):
            claimed = await self.uow.ledger.claim_due_customers(self.at, 100)
            if not claimed:
                return
            await charge_batch(claimed, self.uow, POLICY, self.at, self.tick_id)
        raise AssertionError("the tick worker never ran out of due customers")

    async def run(self, cmd: RunPackage) -> None:
        await runs.run_package(cmd, self.uow, Dependencies(inputs=_Open(), policy=POLICY))  # type: ignore[arg-type]

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        return self.uow.events(event_type)


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _played(h: History) -> None:
    PLAYED[0] += 1
    model = asyncio.run(check(h, FakeCharger()))
    for feature in sorted(features(model)):
        event(feature)


@SETTINGS
@given(h=histories(EVERYTHING))
def test_random_histories_emit_what_the_contract_says(h: History) -> None:
    _played(h)


@SETTINGS
@given(h=histories(CREDITS, max_steps=20))
def test_end_dates_moved_back_and_forth_credit_what_the_contract_says(h: History) -> None:
    _played(h)


@SETTINGS
@given(h=histories(DECLINES))
def test_declined_debits_withhold_their_own_period_s_grant_only(h: History) -> None:
    _played(h)


def teardown_module() -> None:
    print(f"\nrandom charger histories played: {PLAYED[0]}")
