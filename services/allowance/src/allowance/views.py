"""What the allowance service's read API shows (read-only SQL on its own tables): a
customer's grants with what calls used of them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from pkgshared.http import Page, page_of

if TYPE_CHECKING:
    from pkgshared.db import Connection


class Allowance(BaseModel):
    model_config = ConfigDict(frozen=True)

    grant_id: UUID
    assignment_id: UUID | None = Field(description="Null for a top-up's grant.")
    topup_id: UUID | None = Field(default=None, description="The top-up granted, else null.")
    did: str | None = Field(description="Set: only calls from this DID use it.")
    destination_prefixes: list[str] = Field(description="Empty: any destination.")
    valid_from: datetime
    valid_until: datetime
    granted_seconds: int
    used_seconds: int = Field(description="Net of seconds reversals gave back.")
    remaining_seconds: int = Field(description="granted - used - rolled over.")
    returned_seconds: int = Field(description="Seconds reversals gave back, in all.")
    rolled_over_from: UUID | None = Field(
        description="A rollover grant: the expired grant whose unused seconds it carries."
    )
    rolled_over_seconds: int = Field(
        description="Seconds this grant carried into its rollover grant (0 until it expires)."
    )
    status: Literal["active", "expired"]
    notify_at_percent: list[int] = Field(
        description="Percents of use that send AllowanceThresholdReached (empty: none)."
    )
    percents_reached: list[int] = Field(
        description="Those of notify_at_percent the grant's use has reached (each sent once; "
        "they stay reached when a reversal gives seconds back)."
    )


class CustomerAllowances(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    calls_waiting: int = Field(
        description="Calls read by the instance that answers and not applied yet (waiting "
        "for the charger to settle their moment). With several instances, each counts the "
        "calls of the usage.rated partitions it reads."
    )
    calls_parked: int = Field(
        description="Calls of the customer parked in a table rather than held in memory: one "
        "of its calls occurred far past the charger's settled moment (a clock set wrong "
        "upstream?), and its calls behind that one wait with it, in order."
    )
    grants: Page[Allowance] = Field(description="Grants, by valid_from then grant_id.")


async def allowances(
    conn: Connection, customer_id: str, limit: int, after: list[str] | None, waiting: int = 0
) -> CustomerAllowances | None:
    """None when the service has no grant, no call waiting and no call parked of the customer
    (`waiting`: how many it holds)."""
    after_from, after_id = (
        (datetime.fromisoformat(after[0]), UUID(after[1])) if after else (None, None)
    )
    rows = await conn.fetch(
        "SELECT grant_id, assignment_id, topup_id, did, destination_prefixes, valid_from, "
        "valid_until, "
        "granted_seconds, used_seconds, "
        "granted_seconds - used_seconds - rolled_over_seconds AS remaining_seconds, "
        "returned_seconds, rolled_over_from, rolled_over_seconds, "
        "status, notify_at_percent, ARRAY(SELECT p FROM unnest(notify_at_percent) AS p "
        "WHERE greatest(used_seconds, peak_used_seconds) * 100 >= granted_seconds * p "
        "ORDER BY p) AS percents_reached "
        "FROM grants WHERE customer_id = $1 "
        "AND ($2::timestamptz IS NULL OR (valid_from, grant_id) > ($2, $3)) "
        "ORDER BY valid_from, grant_id LIMIT $4",
        customer_id,
        after_from,
        after_id,
        limit + 1,
    )
    parked = await conn.fetchval(
        "SELECT count(*) FROM parked_calls WHERE customer_id = $1", customer_id
    )
    if not rows and after is None and not waiting and not parked:
        return None
    grants = page_of(
        [Allowance(**dict(r)) for r in rows],
        limit,
        lambda g: (g.valid_from.isoformat(), g.grant_id),
    )
    return CustomerAllowances(
        customer_id=customer_id, calls_waiting=waiting, calls_parked=parked, grants=grants
    )
