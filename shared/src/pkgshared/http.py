"""Each service's HTTP side: /health, /metrics and its read API (read-only JSON from the
service's own PostgreSQL state), with the OpenAPI document FastAPI generates from the
response models at /openapi.json."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field

from pkgcontract.messages.fields import NO_CONTROL
from pkgshared.stuck import WATCH

API_VERSION = "1"
MAX_PAGE = 1000

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, oldest first; `next` is the cursor for the following page."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    next: str | None = Field(
        description="Pass as `after` to get the next page; null on the last page."
    )


CustomerPath = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=NO_CONTROL, description="The customer's id."),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")]
After = Annotated[
    str | None, Query(max_length=512, description="The `next` cursor of the previous page.")
]


def encode_cursor(*values: object) -> str:
    """An opaque cursor holding the sort key of the last item of a page."""
    raw = json.dumps([str(v) for v in values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> list[str] | None:
    """The sort key in `cursor` (None for the first page); 400 when it is not one of ours."""
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        values = None
    if not (isinstance(values, list) and len(values) == size):
        raise HTTPException(400, "`after` is not a cursor this API returned")
    if not all(isinstance(v, str) and not _FORGED.search(v) for v in values):
        raise HTTPException(400, "`after` is not a cursor this API returned")
    return values


_FORGED = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
"""What no cursor of ours holds (its values are dates, instants and ids) and PostgreSQL or
UTF-8 cannot take: control characters, NUL among them, and lone surrogates."""

ECHO_CHARS = 100
"""The most of a request's own input a validation error repeats (a 100 KB id is not sent
back whole)."""


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > ECHO_CHARS:
        return value[:ECHO_CHARS] + "…"
    if isinstance(value, (list, tuple)):
        return [_cut(v) for v in value[:10]]
    if isinstance(value, dict):
        return {str(k)[:ECHO_CHARS]: _cut(v) for k, v in list(value.items())[:10]}
    return value


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 with the echoed input cut (RequestValidationError)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {k: _cut(v) for k, v in e.items() if k in ("type", "loc", "msg", "input")}
        for e in errors[:20]
    ]
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)


def page_of(items: list[T], limit: int, key: Callable[[T], tuple[object, ...]]) -> Page[T]:
    """The first `limit` of `items` (fetched as limit + 1, so a full page knows a next one)."""
    more = len(items) > limit
    items = items[:limit]
    return Page[Any](items=items, next=encode_cursor(*key(items[-1])) if more else None)


async def _connection(request: Request) -> AsyncIterator[asyncpg.Connection]:
    async with request.app.state.pool.acquire() as conn:
        yield conn


Connection = Annotated[asyncpg.Connection, Depends(_connection)]
"""A connection of the service's pool (its own schema), for one request."""


def read_api(
    service: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    healthy: Callable[[], Awaitable[dict[str, bool]]] | None = None,
    pool: Any = None,
) -> FastAPI:
    """The service's ASGI app. `healthy` and `pool` are None when the app is built only for
    its OpenAPI document."""
    app = FastAPI(
        title=f"packages: {service} service",
        version=API_VERSION,
        description=description,
        docs_url=None,
        redoc_url=None,
    )
    app.state.pool = pool
    app.add_exception_handler(RequestValidationError, _invalid_request)

    @app.get(
        "/health",
        tags=["operations"],
        summary="Kafka and PostgreSQL reachable, and no work retried for over a minute",
        responses={503: {"description": "Unhealthy: the failing checks, and `stuck` with why."}},
    )
    async def health() -> JSONResponse:
        checks: dict[str, Any] = dict(await healthy()) if healthy is not None else {}
        ok = bool(checks) and all(checks.values())
        stuck = WATCH.stuck() if healthy is not None else {}
        if stuck:
            checks["stuck"] = stuck
        return JSONResponse(checks, status_code=200 if ok and not stuck else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app


def openapi_document(app: FastAPI) -> str:
    """The app's OpenAPI document as the repository keeps it (docs/openapi/)."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"
