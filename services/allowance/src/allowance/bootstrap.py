"""The allowance service's composition root."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from allowance.config import AllowanceSettings
from allowance.domain.waiting import WaitingCalls
from allowance.entrypoints import http
from allowance.entrypoints.consumer import wire
from pkgshared.runtime import run_service

MIGRATIONS = Path(__file__).parent / "migrations"


async def run() -> None:
    # The calls waiting in memory: read by the usage consumer, drained by the apply worker,
    # counted by the read API.
    settings = AllowanceSettings()
    waiting = WaitingCalls(
        timedelta(seconds=settings.park_ahead_seconds), settings.park_after_settles
    )
    await run_service(
        "allowance",
        settings,
        MIGRATIONS,
        partial(wire, waiting=waiting),
        partial(http.app, waiting=waiting),
    )
