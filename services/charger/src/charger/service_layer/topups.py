"""Top-ups (docs/contract.md §4 GrantMinutes): the command kept once per topup_id and made at once
when the charger's clock has already passed its valid_from, else by the first tick whose `at`
reaches it (the customer is due no later than that: ChargesSettled waits for it like for any
charge). Inside the caller's unit of work; the domain decides (charger.domain.topups)."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from charger import metrics
from charger.domain.charge_run import LedgerRow, Made
from charger.domain.model import MonthTotals, SpendLimit
from charger.domain.topups import TopUp, TopUpOutcome, decide_topups, events_of, topup_of
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.ports import UnitOfWork
from pkgcontract.messages import GrantMinutes

log = structlog.get_logger(__name__)


async def grant_minutes(cmd: GrantMinutes, uow: UnitOfWork, _deps: Dependencies) -> None:
    """GrantMinutes: kept unless its topup_id is known (the same top-up under another command
    id grants once); made now when the clock has passed valid_from."""
    await uow.ledger.lock_customer(cmd.customer_id)
    fields = {"customer_id": cmd.customer_id, "topup_id": str(cmd.topup_id)}
    if not await uow.topups.add(cmd):
        log.info("top-up already read: it is made once", **fields)
        return
    topup = topup_of(cmd)
    at = await uow.clock.tick_at()
    if at is None or not topup.due_by(at):
        await uow.topups.due_later(cmd.customer_id, topup.valid_from)
        log.info("top-up kept until due", valid_from=topup.valid_from.isoformat(), **fields)
        return
    customer = cmd.customer_id
    limits = await uow.ledger.spend_limits([customer])
    totals = await uow.ledger.month_totals([customer])
    made = Made()
    await make_topups(uow, [topup], limits, totals, datetime.now(UTC), made)
    metrics.record(made)


async def make_due_topups(
    uow: UnitOfWork,
    customer_ids: list[str],
    at: datetime,
    limits: dict[str, SpendLimit],
    totals: dict[str, MonthTotals],
    made_at: datetime,
    made: Made,
) -> None:
    """Make the top-ups of `customer_ids` (locked by the caller) due by tick `at`, after their
    package charges of the same tick (`totals` holds those)."""
    due = await uow.topups.due(customer_ids, at)
    if due:
        await make_topups(uow, due, limits, totals, made_at, made)


async def make_topups(
    uow: UnitOfWork,
    due: list[TopUp],
    limits: dict[str, SpendLimit],
    totals: dict[str, MonthTotals],
    made_at: datetime,
    made: Made,
) -> None:
    """Decide, record (ledger rows, the top-up marked made) and emit each top-up of `due`."""
    by_customer: dict[str, list[TopUp]] = {}
    for t in due:
        by_customer.setdefault(t.customer_id, []).append(t)
    decided: list[tuple[TopUp, TopUpOutcome]] = []
    for customer, mine in by_customer.items():
        month = totals.setdefault(customer, MonthTotals())
        decided += decide_topups(mine, limits.get(customer), month)
    rows: list[LedgerRow] = []
    for t, outcome in decided:
        rows += ledger_rows(t, outcome)
        for event in events_of(t, outcome, made_at):
            uow.emit(event)
        if outcome == "declined":
            made.declined += 1
        else:
            made.grants += 1
            made.charged += 1 if t.priced else 0
        log.info(
            "top-up granted" if outcome == "granted" else "top-up declined: over the spend limit",
            customer_id=t.customer_id,
            topup_id=str(t.topup_id),
            minutes=t.minutes,
            retail=None if t.retail is None else str(t.retail),
        )
    await uow.ledger.record(rows)
    await uow.topups.mark(decided)


def ledger_rows(t: TopUp, outcome: TopUpOutcome) -> list[LedgerRow]:
    """The ledger's rows of a top-up made: its debit (charged or declined) when priced, and
    its grant when granted."""
    rows = []
    if t.priced:
        status = "charged" if outcome == "granted" else "declined"
        rows.append(
            LedgerRow(t.debit_key, t.customer_id, None, "topup", status, t.day, t.retail,
                      t.currency, None, "scheduled", t.day, topup_id=t.topup_id)
        )  # fmt: skip
    if outcome == "granted":
        rows.append(
            LedgerRow(t.grant_key, t.customer_id, None, "grant", "charged", t.day, None, None,
                      t.minutes, "scheduled", t.day, topup_id=t.topup_id)
        )  # fmt: skip
    return rows


async def make_customer_topups(uow: UnitOfWork, customer: str, at: datetime) -> Made:
    """The customer's top-ups due by `at` alone (a worker isolating what fails), and its next
    due moment after them."""
    await uow.ledger.lock_customer(customer)
    limits = await uow.ledger.spend_limits([customer])
    totals = await uow.ledger.month_totals([customer])
    made = Made()
    await make_due_topups(uow, [customer], at, limits, totals, datetime.now(UTC), made)
    await uow.ledger.set_next_due({customer: await uow.ledger.next_due_of(customer)})
    return made


async def set_aside(uow: UnitOfWork, customer: str, at: datetime, error: str) -> None:
    """Top-ups due by `at` that fail for their own sake on every try are marked "failed" (not
    made; the read API shows them), so that the tick settles without them (docs/contract.md §4
    Errors: one message never stops the others)."""
    await uow.ledger.lock_customer(customer)
    failed = await uow.topups.fail_due(customer, at)
    await uow.ledger.set_next_due({customer: await uow.ledger.next_due_of(customer)})
    log.error(
        "top-ups set aside: they fail on every try",
        customer_id=customer,
        topup_ids=[str(t) for t in failed],
        error=error[:500],
    )
