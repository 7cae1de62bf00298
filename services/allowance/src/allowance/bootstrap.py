"""The allowance service's composition root."""

from __future__ import annotations

from pathlib import Path

from allowance.config import AllowanceSettings
from allowance.entrypoints import http
from allowance.entrypoints.consumer import wire
from pkgshared.runtime import run_service

MIGRATIONS = Path(__file__).parent / "migrations"


async def run() -> None:
    await run_service("allowance", AllowanceSettings(), MIGRATIONS, wire, http.app)
