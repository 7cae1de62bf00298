"""The assignment service's read API: parse the request, call a view, nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, FastAPI, HTTPException

from assignment import views
from pkgshared.http import After, Connection, CustomerPath, Limit, Page, decode_cursor, read_api

DESCRIPTION = (
    "Read-only views of the assignment service's own state: a customer's assignments (the "
    "current state of each and its history) and spend limit. Events on Kafka stay the "
    "contract; this is for operators."
)
router = APIRouter(tags=["assignment"])


@router.get("/customers/{customer_id}/assignments", summary="A customer's assignments")
async def assignments(
    conn: Connection, customer_id: CustomerPath, limit: Limit = 100, after: After = None
) -> Page[views.Assignment]:
    cursor = decode_cursor(after, 1)
    try:
        page = await views.assignments(conn, customer_id, limit, cursor)
    except ValueError:  # a cursor that does not hold an assignment id
        raise HTTPException(400, "`after` is not a cursor this API returned") from None
    if not page.items and cursor is None and await views.spend_limit(conn, customer_id) is None:
        raise HTTPException(404, f"no assignment or spend limit for customer {customer_id!r}")
    return page


@router.get("/assignments/{assignment_id}", summary="One assignment, whoever its customer")
async def assignment(conn: Connection, assignment_id: UUID) -> views.Assignment:
    found = await views.assignment(conn, assignment_id)
    if found is None:
        raise HTTPException(404, f"no assignment {assignment_id}")
    return found


@router.get("/customers/{customer_id}/spend-limit", summary="A customer's spend limit")
async def spend_limit(conn: Connection, customer_id: CustomerPath) -> views.SpendLimit:
    found = await views.spend_limit(conn, customer_id)
    if found is None:
        raise HTTPException(404, f"no spend limit set for customer {customer_id!r}")
    return found


def app(
    pool: Any = None, healthy: Callable[[], Awaitable[dict[str, bool]]] | None = None
) -> FastAPI:
    return read_api("assignment", DESCRIPTION, [router], healthy, pool)
