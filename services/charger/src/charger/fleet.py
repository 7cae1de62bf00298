"""What the charger's read API shows of every customer at once (read-only SQL on its own
tables), for the operator's fleet lists (`pkgctl held`, `pkgctl declines`, `pkgctl status`):
the assignments held, and the charges declined in a month."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from pkgcontract.messages import Money

if TYPE_CHECKING:
    from pkgshared.db import Connection


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class HeldAssignment(_View):
    customer_id: str
    assignment_id: UUID
    package_id: str
    hold: str = Field(description="held, or released (the next tick charges what is due).")
    reason: str | None = Field(description="As its ChargesHeld said; null when not recorded.")
    charged_through: date | None = Field(
        description="The start of the last period handled before the hold (null: none)."
    )


class Holds(_View):
    count: int = Field(description="Assignments held or released, not yet charged: all of them.")
    items: list[HeldAssignment] = Field(description="The first `limit`, by customer.")


class Decline(_View):
    customer_id: str
    assignment_id: UUID | None = Field(description="Null for a top-up.")
    topup_id: UUID | None
    kind: str
    period_start: date
    amount: Money | None
    currency: str | None


class Declines(_View):
    month: date | None = Field(
        description="The first day of the month: `month` when asked, else the charger's "
        "current month; null before the first tick."
    )
    count: int = Field(description="Charges declined with period_start in that month: all.")
    items: list[Decline] = Field(description="The first `limit`, by period then customer.")


async def holds(conn: Connection, limit: int) -> Holds:
    rows = await conn.fetch(
        "SELECT customer_id, assignment_id, package_id, hold, hold_reason AS reason, "
        "ticked_through AS charged_through, count(*) OVER () AS total FROM assignments "
        "WHERE hold IS NOT NULL ORDER BY customer_id, assignment_id LIMIT $1",
        limit,
    )
    items = [HeldAssignment(**{k: v for k, v in r.items() if k != "total"}) for r in rows]
    return Holds(count=rows[0]["total"] if rows else 0, items=items)


async def declines(conn: Connection, month: date | None, limit: int) -> Declines:
    """`month`: its first day; None: the month of the charger's clock (nothing before a tick)."""
    if month is None:
        at = await conn.fetchval("SELECT tick_at FROM clock WHERE id = 1")
        if at is None:
            return Declines(month=None, count=0, items=[])
        month = date(at.year, at.month, 1)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    rows = await conn.fetch(
        "SELECT customer_id, assignment_id, topup_id, kind, period_start, amount, currency, "
        "count(*) OVER () AS total FROM ledger WHERE status = 'declined' "
        "AND period_start >= $1 AND period_start < $2 "
        "ORDER BY period_start, customer_id, charge_key LIMIT $3",
        month,
        following,
        limit,
    )
    items = [Decline(**{k: v for k, v in r.items() if k != "total"}) for r in rows]
    return Declines(month=month, count=rows[0]["total"] if rows else 0, items=items)
