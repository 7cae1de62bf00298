"""The catalog service's HTTP side: /health and /metrics only (its state is the compacted
catalog.packages topic, which anyone can read)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from pkgshared.http import read_api

DESCRIPTION = "Operations only: the catalog is the compacted catalog.packages topic."


def app(
    pool: Any = None, healthy: Callable[[], Awaitable[dict[str, bool]]] | None = None
) -> FastAPI:
    return read_api("catalog", DESCRIPTION, (), healthy, pool)
