"""The catalog's composition root."""

from __future__ import annotations

from pathlib import Path

from catalog.config import CatalogSettings
from catalog.entrypoints import http
from catalog.entrypoints.consumer import wire
from pkgshared.runtime import run_service

MIGRATIONS = Path(__file__).parent / "migrations"


async def run() -> None:
    await run_service("catalog", CatalogSettings(), MIGRATIONS, wire, http.app)
