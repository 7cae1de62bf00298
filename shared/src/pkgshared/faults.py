"""Fault injection for crash tests: `FAULT_INJECT=<point>` makes the process kill itself with
SIGKILL when it reaches `<point>` (e.g. `after_commit`), exactly like `kill -9` would.
Unset in production; reaching a point costs one string comparison."""

from __future__ import annotations

import os
import signal

import structlog

_POINT = os.environ.get("FAULT_INJECT", "")


def crash_point(point: str) -> None:
    if _POINT and point == _POINT:
        structlog.get_logger(__name__).warning("fault injected: killing this process", point=point)
        os.kill(os.getpid(), signal.SIGKILL)
