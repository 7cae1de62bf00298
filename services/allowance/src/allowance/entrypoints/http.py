"""The allowance service's read API: parse the request, call a view, nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request

from allowance import views
from allowance.adapters.waiting import WaitingCalls
from pkgshared.http import After, Connection, CustomerPath, Limit, decode_cursor, read_api

DESCRIPTION = (
    "Read-only views of the allowance service's own state: a customer's free-minutes grants "
    "with what calls used of them. Events on Kafka stay the contract; this is for operators."
)
router = APIRouter(tags=["allowance"])


@router.get("/customers/{customer_id}/allowances", summary="A customer's free minutes")
async def allowances(
    request: Request,
    conn: Connection,
    customer_id: CustomerPath,
    limit: Limit = 100,
    after: After = None,
) -> views.CustomerAllowances:
    cursor = decode_cursor(after, 2)
    held: WaitingCalls | None = getattr(request.app.state, "waiting", None)
    waiting = held.of_customer(customer_id) if held is not None else 0
    try:
        found = await views.allowances(conn, customer_id, limit, cursor, waiting)
    except ValueError:  # a cursor that does not hold a time and a grant id
        raise HTTPException(400, "`after` is not a cursor this API returned") from None
    if found is None:
        raise HTTPException(404, f"no grant or call waiting for customer {customer_id!r}")
    return found


@router.get("/calls/waiting", summary="Every customer with calls waiting for the clock")
async def calls_waiting(
    request: Request, conn: Connection, limit: Limit = 100
) -> views.CallsWaiting:
    held: WaitingCalls | None = getattr(request.app.state, "waiting", None)
    return await views.calls_waiting(conn, held.customers() if held is not None else {}, limit)


def app(
    pool: Any = None,
    healthy: Callable[[], Awaitable[dict[str, bool]]] | None = None,
    waiting: WaitingCalls | None = None,
) -> FastAPI:
    api = read_api("allowance", DESCRIPTION, [router], healthy, pool)
    api.state.waiting = waiting  # the calls this process holds, for `calls_waiting`
    return api
