"""What the assignment service's read API shows (read-only SQL on its own tables): a
customer's assignments with their history, and the customer's spend limit."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from pkgcontract.messages import AssignmentChanged, AssignmentEnded, Money, PackageAssigned
from pkgshared.http import Page, page_of

if TYPE_CHECKING:
    from pkgshared.db import Connection


State = Annotated[PackageAssigned | AssignmentChanged, Field(discriminator="event_type")]
Change = Annotated[
    PackageAssigned | AssignmentChanged | AssignmentEnded, Field(discriminator="event_type")
]
_state: TypeAdapter[PackageAssigned | AssignmentChanged] = TypeAdapter(State)
_change: TypeAdapter[PackageAssigned | AssignmentChanged | AssignmentEnded] = TypeAdapter(Change)


class Assignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    assignment_id: UUID
    customer_id: str
    state: State = Field(
        description="The latest full state: the PackageAssigned, or the AssignmentChanged "
        "that replaced it (an ended assignment's state carries its end_date)."
    )
    history: list[Change] = Field(description="Every event that made or changed it, in order.")


class SpendLimit(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    monthly_limit: Money | None = Field(description="null: no limit.")
    currency: str


async def assignments(
    conn: Connection, customer_id: str, limit: int, after: list[str] | None, inclusive: bool = False
) -> Page[Assignment]:
    """A page of the customer's assignments by id, after the cursor's (from it: `inclusive`)."""
    rows = await conn.fetch(
        "SELECT assignment_id, customer_id, current::text AS current FROM assignments "
        "WHERE customer_id = $1 AND ($2::uuid IS NULL OR assignment_id > $2 "
        f"{'OR assignment_id = $2' if inclusive else ''}) "
        "ORDER BY assignment_id LIMIT $3",
        customer_id,
        UUID(after[0]) if after else None,
        limit + 1,
    )
    history: dict[UUID, list[Any]] = defaultdict(list)
    for h in await conn.fetch(
        "SELECT assignment_id, event FROM assignment_history "
        "WHERE assignment_id = ANY($1::uuid[]) ORDER BY assignment_id, seq",
        [r["assignment_id"] for r in rows[:limit]],
    ):
        history[h["assignment_id"]].append(_change.validate_json(h["event"]))
    items = [
        Assignment(
            assignment_id=r["assignment_id"],
            customer_id=r["customer_id"],
            state=_state.validate_json(r["current"]),
            history=history[r["assignment_id"]],
        )
        for r in rows
    ]
    return page_of(items, limit, lambda a: (a.assignment_id,))


async def assignment(conn: Connection, assignment_id: UUID) -> Assignment | None:
    row = await conn.fetchrow(
        "SELECT customer_id FROM assignments WHERE assignment_id = $1", assignment_id
    )
    if row is None:
        return None
    page = await assignments(conn, row["customer_id"], 1, [str(assignment_id)], inclusive=True)
    return page.items[0]


async def spend_limit(conn: Connection, customer_id: str) -> SpendLimit | None:
    row = await conn.fetchrow(
        "SELECT customer_id, monthly_limit, currency FROM spend_limits WHERE customer_id = $1",
        customer_id,
    )
    return SpendLimit(**dict(row)) if row is not None else None
