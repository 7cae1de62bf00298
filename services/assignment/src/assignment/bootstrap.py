"""The assignment service's composition root."""

from __future__ import annotations

from pathlib import Path

from assignment.config import AssignmentSettings
from assignment.entrypoints import http
from assignment.entrypoints.consumer import wire
from pkgshared.runtime import run_service

MIGRATIONS = Path(__file__).parent / "migrations"


async def run() -> None:
    await run_service("assignment", AssignmentSettings(), MIGRATIONS, wire, http.app)
