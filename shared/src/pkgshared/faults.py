"""Fault injection for crash tests: `FAULT_INJECT=<point>` or `<point>@<n>` makes the process
kill itself with SIGKILL the first (or n-th) time it reaches `<point>`, exactly as `kill -9`
at that instant would. Unset in production; reaching a point costs one comparison."""

from __future__ import annotations

import os
import signal

import structlog

_SPEC = os.environ.get("FAULT_INJECT", "")
_POINT, _, _NTH = _SPEC.partition("@")
_remaining = int(_NTH or "1")


def crash_point(point: str) -> None:
    global _remaining
    if _POINT and point == _POINT:
        _remaining -= 1
        if _remaining <= 0:
            log = structlog.get_logger(__name__)
            log.warning("fault injected: killing this process", point=point)
            os.kill(os.getpid(), signal.SIGKILL)


_RAISE_ONCE = set(filter(None, os.environ.get("FAULT_RAISE_ONCE", "").split(",")))


def raise_once(message_ids: list[str]) -> None:
    """`FAULT_RAISE_ONCE=<event_id>[,...]`: the first time a handler is given one of these
    messages, it raises (a handler bug that a retry gets past). Poison tests only."""
    for message_id in message_ids:
        if message_id in _RAISE_ONCE:
            _RAISE_ONCE.discard(message_id)
            structlog.get_logger(__name__).warning("fault injected: raising", event_id=message_id)
            raise RuntimeError(f"fault injected on {message_id}")
