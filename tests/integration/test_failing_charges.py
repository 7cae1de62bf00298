"""A charge that fails for its own sake on every retry holds its assignment, and the tick settles
without it (docs/contract.md §4 Errors, ChargesHeld reason "failed: …"): no other assignment, of
the same customer or another, waits for it. Driven through the charge of what is due
(`charge_due`, the tick worker's one handler) against PostgreSQL; the same story runs with the
fakes in tests/unit/test_charge_isolation.py. The failing assignment is one whose stored terms
cannot be read (what a bug, or data written by another version, would leave)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from charger import views
from charger.adapters.ledger import LedgerRepository
from charger.adapters.unit_of_work import ChargerUnitOfWork
from charger.service_layer.charge_due import charge_due
from charger.service_layer.dependencies import Dependencies
from pkgcontract.messages import natural_event_id
from pkgshared.failures import Tries
from tests.integration.test_catch_up import _assigned, _events, _package, _setup, _tick


async def _drain(pool: Any) -> None:
    deps = Dependencies(tries=Tries(2, 0.01, 0.01))
    assert await charge_due(partial(ChargerUnitOfWork, pool), deps)


async def _terms(pool: Any, assignment_id: uuid.UUID, terms: str | None = None) -> str:
    async with pool.acquire() as conn:
        if terms is not None:
            await conn.execute(
                "UPDATE assignments SET terms = $2 WHERE assignment_id = $1", assignment_id, terms
            )
        found: str = await conn.fetchval(
            "SELECT terms FROM assignments WHERE assignment_id = $1", assignment_id
        )
    return found


async def test_a_failing_assignment_is_held_and_the_tick_settles_without_it(pool: Any) -> None:
    good = _assigned("mixed", "daily", "2026-01-01")
    bad = _assigned("mixed", "daily", "2026-01-01")
    others = [_assigned(f"other-{n}", "daily", "2026-01-01") for n in range(3)]
    await _setup(pool, _package("daily", "daily", []), good, bad, *others)
    terms = await _terms(pool, bad.assignment_id)
    await _terms(pool, bad.assignment_id, '{"quantity": "not a number"}')

    tick = await _tick(pool, datetime(2026, 1, 3, 12, tzinfo=UTC))
    await _drain(pool)

    debits = await _events(pool, "CreditDebited")
    charged = {(d["assignment_id"], d["period_start"]) for d in debits}
    for a in (good, *others):
        for day in ("2026-01-01", "2026-01-02", "2026-01-03"):
            assert (str(a.assignment_id), day) in charged
    assert not [d for d in debits if d["assignment_id"] == str(bad.assignment_id)]
    held = await _events(pool, "ChargesHeld")
    assert len(held) == 1, held
    assert held[0]["assignment_id"] == str(bad.assignment_id)
    assert held[0]["reason"].startswith("failed: ")
    assert held[0]["event_id"] == str(natural_event_id(f"held:{bad.assignment_id}:failed:{tick}"))
    assert held[0]["first_period_start"] == "2026-01-01" and held[0]["count"] >= 1
    settled = await _events(pool, "ChargesSettled")
    assert [s["tick_id"] for s in settled] == [str(tick)]

    # The next tick: the others go on, the held one waits and is not held again.
    second = await _tick(pool, datetime(2026, 1, 4, 12, tzinfo=UTC))
    await _drain(pool)
    assert len(await _events(pool, "ChargesHeld")) == 1
    assert [s["tick_id"] for s in await _events(pool, "ChargesSettled")][-1] == str(second)
    # The read API says why it is held, as the ChargesHeld did (issue 35), for any month asked.
    async with pool.acquire() as conn:
        shown = await views.customer_charges(conn, "mixed", None, None, 100, None, date(2026, 1, 1))
        december = await views.customer_charges(
            conn, "mixed", None, None, 100, None, date(2025, 12, 1)
        )
    assert [(h.assignment_id, h.reason) for h in shown.held] == [
        (bad.assignment_id, held[0]["reason"])
    ]
    assert shown.month == date(2026, 1, 1) and shown.to_date == date(2026, 1, 4)
    [january] = shown.month_to_date
    assert january.net == january.charged and january.credited == 0
    assert (december.month, december.month_to_date, december.charges.items) == (
        date(2025, 12, 1),
        [],
        [],
    )

    # Mended and released: the next tick makes every period it missed, once, in order.
    await _terms(pool, bad.assignment_id, terms)
    async with pool.acquire() as conn, conn.transaction():
        store = LedgerRepository(conn)
        assert await store.hold_of("mixed", bad.assignment_id) == "held"
        await store.release([bad.assignment_id])
    await _tick(pool, datetime(2026, 1, 5, 12, tzinfo=UTC))
    await _drain(pool)
    mine = [
        d["period_start"]
        for d in await _events(pool, "CreditDebited")
        if d["assignment_id"] == str(bad.assignment_id)
    ]
    assert mine == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"]
    async with pool.acquire() as conn:
        assert (await views.customer_charges(conn, "mixed", None, None, 100, None)).held == []


async def test_what_was_due_is_worked_out_for_the_held_event(pool: Any) -> None:
    """When the failure lies past the terms (here: the ledger refuses the row), the held
    event still says how many charges were due and which periods."""
    bad = _assigned("refused", "daily", "2026-01-01")
    await _setup(pool, _package("daily", "daily", []), bad)
    async with pool.acquire() as conn:
        await conn.execute(
            "ALTER TABLE ledger ADD CONSTRAINT no_refused CHECK (customer_id <> 'refused')"
        )
    await _tick(pool, datetime(2026, 1, 3, 12, tzinfo=UTC))
    await _drain(pool)
    held = await _events(pool, "ChargesHeld")
    assert [(h["count"], h["first_period_start"], h["last_period_start"]) for h in held] == [
        (3, "2026-01-01", "2026-01-03")
    ]
    assert "no_refused" in held[0]["reason"]
    assert await _events(pool, "CreditDebited") == []
