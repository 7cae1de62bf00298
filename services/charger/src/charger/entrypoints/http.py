"""The charger's read API: parse the request, call a view, nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query

from charger import fleet, views
from pkgshared.http import After, Connection, CustomerPath, Limit, decode_cursor, read_api

DESCRIPTION = (
    "Read-only views of the charger's own state: a customer's charges (debits, grants, "
    "declined and covered periods), holds, spend limit and month-to-date totals, and the "
    "clock. Events on Kafka stay the contract; this is for operators."
)
router = APIRouter(tags=["charger"])


Month = Annotated[
    str | None,
    Query(
        # The contract's dates lie in 1900..2999; a month outside gets FastAPI's own 422.
        pattern=r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])$",
        description="YYYY-MM (default: the clock's month).",
    ),
]


@router.get("/clock", summary="The latest tick accepted")
async def clock(conn: Connection) -> views.Clock:
    return await views.clock(conn)


@router.get("/customers/{customer_id}/charges", summary="A customer's charges")
async def charges(
    conn: Connection,
    customer_id: CustomerPath,
    from_: Annotated[
        date | None,
        Query(alias="from", description="First period start (default: the clock's month)."),
    ] = None,
    to: Annotated[
        date | None, Query(description="Last period start (default: the clock's date).")
    ] = None,
    limit: Limit = 100,
    after: After = None,
    month: Annotated[
        str | None,
        Query(
            # The contract's dates lie in 1900..2999; a month outside gets FastAPI's own 422,
            # the one the API's schema declares.
            pattern=r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])$",
            description="YYYY-MM: that month's totals (charged, declined, credited, net) and, "
            "unless from/to say otherwise, its periods (default: the clock's month).",
        ),
    ] = None,
) -> views.CustomerCharges:
    cursor = decode_cursor(after, 2)
    asked = _month(month)
    if not await views.known(conn, customer_id):
        raise HTTPException(404, f"the charger knows no customer {customer_id!r}")
    try:
        return await views.customer_charges(conn, customer_id, from_, to, limit, cursor, asked)
    except ValueError:  # a cursor's date that is not a date
        raise HTTPException(400, "`after` is not a cursor this API returned") from None


@router.get("/held", summary="Every assignment held (or released, not yet charged)")
async def held(conn: Connection, limit: Limit = 100) -> fleet.Holds:
    return await fleet.holds(conn, limit)


@router.get("/declines", summary="Every charge declined in a month")
async def declines(conn: Connection, limit: Limit = 100, month: Month = None) -> fleet.Declines:
    return await fleet.declines(conn, _month(month), limit)


def _month(text: str | None) -> date | None:
    """The first day of month `text` (YYYY-MM, 1900-01 to 2999-12: the query's pattern)."""
    if text is None:
        return None
    return date(int(text[:4]), int(text[5:]), 1)


def app(
    pool: Any = None, healthy: Callable[[], Awaitable[dict[str, bool]]] | None = None
) -> FastAPI:
    return read_api("charger", DESCRIPTION, [router], healthy, pool)
