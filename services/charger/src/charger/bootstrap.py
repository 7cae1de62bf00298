"""The charger's composition root."""

from __future__ import annotations

from pathlib import Path

from charger.config import ChargerSettings
from charger.entrypoints import http
from charger.entrypoints.consumer import wire
from pkgshared.runtime import run_service

MIGRATIONS = Path(__file__).parent / "migrations"


async def run() -> None:
    await run_service("charger", ChargerSettings(), MIGRATIONS, wire, http.app)
