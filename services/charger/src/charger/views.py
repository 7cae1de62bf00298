"""What the charger's read API shows (read-only SQL on the charger's own tables): a customer's
charges, holds, spend limit and month-to-date totals, and the clock."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from pkgcontract import money
from pkgcontract.messages import Money
from pkgshared.http import Page, page_of

if TYPE_CHECKING:
    from pkgshared.db import Connection


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Charge(_View):
    charge_key: str = Field(
        description="The charge's natural key: debit:<assignment>:<period|setup>, "
        "grant:<assignment>:<period>, or a top-up's debit:topup:<id> / grant:topup:<id>."
    )
    assignment_id: UUID | None = Field(description="Null for a top-up's charge.")
    topup_id: UUID | None = Field(default=None, description="The top-up charged, else null.")
    package_id: str | None = Field(description="The assignment's package (null if unknown).")
    kind: str = Field(description="recurring, setup, minimum_spend, topup or grant.")
    status: str = Field(
        description="charged (CreditDebited / FreeMinutesGranted sent), declined "
        "(ChargeDeclined) or covered (a minimum spend met by usage)."
    )
    period_start: date
    period_end: date | None = Field(
        description="Exclusive end of what was charged (null: recorded before ends were kept)."
    )
    charged_days: int | None = Field(
        description="Set for a part-period charged by the day (proration): its days..."
    )
    period_days: int | None = Field(description="... of its enclosing period's days.")
    amount: Money | None = Field(description="Debit amount; null for a grant.")
    currency: str | None
    minutes: int | None = Field(description="Free minutes granted; null for a debit.")
    reason: str | None = Field(description="scheduled (a tick) or run_package.")
    decline_reason: str | None = Field(
        description="Why a declined charge was not made (spend_limit_exceeded); else null."
    )
    credited: Money | None = Field(
        description="Money back for days an early end no longer covers (CreditIssued)."
    )
    credited_from: date | None
    credited_days: int | None
    made_at: datetime = Field(description="When the charger recorded it.")


class MonthTotal(_View):
    currency: str
    charged: Money = Field(description="Debits charged: what the spend limit counts (exact).")
    declined: Money = Field(description="Debits declined by the spend limit (exact).")
    credited: Money = Field(
        default=money.ZERO,
        description="Credits issued (CreditIssued) for this month's debits: days an early end "
        "no longer covers (exact).",
    )
    net: Money = Field(
        default=money.ZERO, description="charged less credited: what the month costs (exact)."
    )


class Held(_View):
    assignment_id: UUID
    package_id: str
    hold: str = Field(
        description="held (over the catch-up limit: nothing is charged until "
        "ReleaseHeldCharges) or released (the next tick charges every period due)."
    )
    reason: str | None = Field(
        default=None,
        description='Why it was held, as its ChargesHeld said: "catch_up_limit", or "failed: '
        '<error>" (its charges failed on every retry); null for a hold recorded before '
        "reasons were kept.",
    )
    charged_through: date | None = Field(
        description="The start of the last period handled before the hold (null: none)."
    )


class TopUp(_View):
    """A top-up read (GrantMinutes, docs/contract.md §4): due at valid_from."""

    topup_id: UUID
    valid_from: datetime
    valid_until: datetime
    minutes: int
    destination_prefixes: list[str]
    retail: Money | None
    currency: str | None
    reason: str | None
    status: str = Field(
        description="pending (due at valid_from), granted, declined (spend limit), or failed "
        "(set aside: it failed for its own sake on every try)."
    )


class SpendLimit(_View):
    monthly_limit: Money | None
    currency: str | None


class CustomerCharges(_View):
    customer_id: str
    from_date: date = Field(description="First period start shown (inclusive).")
    to_date: date = Field(description="Last period start shown (inclusive).")
    month: date | None = Field(
        description="The first day of the month shown: `month` when asked, else the charger's "
        "current month (its clock's UTC date); null before the first tick."
    )
    month_to_date: list[MonthTotal] = Field(
        description="That month's debits per currency, counted as the spend limit counts them "
        "(to the charger's date in its current month), with credits and net."
    )
    minutes_granted_this_month: int
    spend_limit: SpendLimit | None = Field(description="As the charger last read it.")
    held: list[Held] = Field(description="Assignments held or released, not yet charged.")
    topups: list[TopUp] = Field(
        default_factory=list,
        description="Top-ups not made yet, and those due in [from, to] (at most 100).",
    )
    charges: Page[Charge] = Field(description="Charges with period_start in [from, to].")


class Clock(_View):
    tick_at: datetime | None = Field(description="The latest tick accepted (null: none yet).")
    tick_id: UUID | None
    settled: bool = Field(
        description="Whether ChargesSettled was written for it (every charge it made due is "
        "in the outbox)."
    )


def _topup(cmd: dict[str, Any], status: str) -> TopUp:
    return TopUp(
        topup_id=cmd["topup_id"],
        valid_from=cmd["valid_from"],
        valid_until=cmd["valid_until"],
        minutes=cmd["minutes"],
        destination_prefixes=cmd.get("destination_prefixes") or [],
        retail=cmd.get("retail"),
        currency=cmd.get("currency"),
        reason=cmd.get("reason"),
        status=status,
    )


async def clock(conn: Connection) -> Clock:
    row = await conn.fetchrow("SELECT tick_at, tick_id, settled FROM clock WHERE id = 1")
    if row is None:
        return Clock(tick_at=None, tick_id=None, settled=True)
    return Clock(tick_at=row["tick_at"], tick_id=row["tick_id"], settled=row["settled"])


async def known(conn: Connection, customer_id: str) -> bool:
    """Whether the charger has heard of the customer (an assignment, a charge or a limit)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM assignments WHERE customer_id = $1) "
            "OR EXISTS (SELECT 1 FROM topups WHERE customer_id = $1) "
            "OR EXISTS (SELECT 1 FROM ledger WHERE customer_id = $1) "
            "OR EXISTS (SELECT 1 FROM customers WHERE customer_id = $1)",
            customer_id,
        )
    )


async def customer_charges(
    conn: Connection,
    customer_id: str,
    from_date: date | None,
    to_date: date | None,
    limit: int,
    after: list[str] | None,
    month_asked: date | None = None,
) -> CustomerCharges:
    """`month_asked` (its first day): that month's totals, and its periods by default;
    else the charger's current month to its date."""
    now = await clock(conn)
    today = now.tick_at.astimezone(UTC).date() if now.tick_at is not None else None
    month = month_asked or (today.replace(day=1) if today is not None else None)
    if month_asked is not None:
        today = _month_end(month_asked) if today is None else min(today, _month_end(month_asked))
        if today < month_asked:  # a month after the charger's date: nothing charged yet
            today = _month_end(month_asked)
    start = from_date or month or date.min
    end = to_date or today or date.max
    after_period, after_key = (date.fromisoformat(after[0]), after[1]) if after else (None, None)
    rows = await conn.fetch(
        "SELECT l.charge_key, l.assignment_id, l.topup_id, a.package_id, l.kind, l.status, "
        "l.period_start, l.period_end, l.charged_days, l.period_days, l.amount, l.currency, "
        "l.minutes, l.reason, CASE WHEN l.status = 'declined' THEN 'spend_limit_exceeded' END "
        "AS decline_reason, c.amount AS credited, c.credited_from, c.credited_days, l.made_at "
        "FROM ledger l LEFT JOIN assignments a USING (assignment_id) "
        "LEFT JOIN credits c ON c.debit_key = l.charge_key "
        "WHERE l.customer_id = $1 AND l.period_start BETWEEN $2 AND $3 "
        "AND ($4::date IS NULL OR (l.period_start, l.charge_key) > ($4, $5)) "
        "ORDER BY l.period_start, l.charge_key LIMIT $6",
        customer_id,
        start,
        end,
        after_period,
        after_key,
        limit + 1,
    )
    charges = page_of(
        [Charge(**dict(r)) for r in rows], limit, lambda c: (c.period_start, c.charge_key)
    )
    totals: list[MonthTotal] = []
    minutes = 0
    if month is not None and today is not None:
        for r in await conn.fetch(
            # charged: as the spend limit counts (spend_limit_debits); declined: refused by it
            "SELECT currency, sum(charged) AS charged, sum(declined) AS declined,"
            " sum(credited) AS credited FROM ("
            " SELECT currency, amount AS charged, 0 AS declined, 0 AS credited"
            " FROM spend_limit_debits WHERE customer_id = $1 AND period_start BETWEEN $2 AND $3"
            " UNION ALL SELECT currency, 0, amount, 0 FROM ledger WHERE customer_id = $1"
            " AND status = 'declined' AND period_start BETWEEN $2 AND $3"
            " UNION ALL SELECT c.currency, 0, 0, c.amount FROM credits c"
            " JOIN ledger l ON l.charge_key = c.debit_key WHERE c.customer_id = $1"
            " AND l.period_start BETWEEN $2 AND $3"
            ") t GROUP BY currency ORDER BY currency",
            customer_id,
            month,
            today,
        ):
            charged, credited = r["charged"] or money.ZERO, r["credited"] or money.ZERO
            totals.append(
                MonthTotal(
                    currency=r["currency"],
                    charged=charged,
                    declined=r["declined"] or money.ZERO,
                    credited=credited,
                    net=money.minus(charged, credited),
                )
            )
        minutes = await conn.fetchval(
            "SELECT coalesce(sum(minutes), 0) FROM ledger WHERE customer_id = $1 "
            "AND kind = 'grant' AND status = 'charged' AND period_start BETWEEN $2 AND $3",
            customer_id,
            month,
            today,
        )
    limit_row = await conn.fetchrow(
        "SELECT monthly_limit, limit_currency FROM customers WHERE customer_id = $1", customer_id
    )
    held = await conn.fetch(
        "SELECT assignment_id, package_id, hold, hold_reason, ticked_through FROM assignments "
        "WHERE customer_id = $1 AND hold IS NOT NULL ORDER BY assignment_id",
        customer_id,
    )
    topups = await conn.fetch(
        "SELECT command, coalesce(status, 'pending') AS status FROM topups "
        "WHERE customer_id = $1 AND (status IS NULL OR (valid_from AT TIME ZONE 'UTC')::date "
        "BETWEEN $2 AND $3) ORDER BY valid_from, topup_id LIMIT 100",
        customer_id,
        start,
        end,
    )
    return CustomerCharges(
        customer_id=customer_id,
        topups=[_topup(json.loads(t["command"]), t["status"]) for t in topups],
        from_date=start,
        to_date=end,
        month=month,
        month_to_date=totals,
        minutes_granted_this_month=minutes,
        spend_limit=(
            SpendLimit(
                monthly_limit=limit_row["monthly_limit"], currency=limit_row["limit_currency"]
            )
            if limit_row is not None and limit_row["limit_currency"] is not None
            else None
        ),
        held=[
            Held(
                assignment_id=h["assignment_id"],
                package_id=h["package_id"],
                hold=h["hold"],
                reason=h["hold_reason"],
                charged_through=h["ticked_through"],
            )
            for h in held
        ],
        charges=charges,
    )


def _month_end(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)
