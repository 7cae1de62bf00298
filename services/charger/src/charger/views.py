"""What the charger's read API shows (read-only SQL on the charger's own tables): a customer's
charges, holds, spend limit and month-to-date totals, and the clock. The answers' models are
charger.read_models (importable from here too)."""

from __future__ import annotations

import json
from datetime import UTC, date
from typing import TYPE_CHECKING, Any

from charger.read_models import (
    Charge,
    Clock,
    CustomerCharges,
    Held,
    MonthTotal,
    SpendLimit,
    TopUp,
)
from pkgcontract import money
from pkgshared.http import page_of

if TYPE_CHECKING:
    from pkgshared.db import Connection


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
