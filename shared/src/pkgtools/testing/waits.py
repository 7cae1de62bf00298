"""Waiting on a condition with a deadline, for tests (never sleep-and-hope)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_until(
    check: Callable[[], T | Awaitable[T]], what: str, timeout: float = 60.0, every: float = 0.1
) -> T:
    """Call `check` (plain or async) every `every` s until it returns something true, and
    return that; AssertionError naming `what` once `timeout` s have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value: Any = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(every)
