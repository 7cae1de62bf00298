"""A worker woken by PostgreSQL NOTIFY (from any instance) or its own process, that drains
work until none is left and then waits (at most `poll_seconds`) to be woken again. The charger's
tick workers are this loop around a handler given as `drain`; the allowance's checkpoint is
this loop around its own `drain`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from pkgshared.exceptions import RetryLater
from pkgshared.stuck import WATCH

if TYPE_CHECKING:
    from pkgshared.db import Pool


log = structlog.get_logger(__name__)


class NotifiedWorker:
    channel: str  # the NOTIFY channel that wakes every instance
    what: str  # how the logs name the work

    def __init__(
        self,
        pool: Pool,
        poll_seconds: float = 0.5,
        concurrency: int = 1,
        *,
        drain: Callable[[], Awaitable[bool]] | None = None,
        channel: str | None = None,
        what: str | None = None,
    ) -> None:
        self._pool = pool
        self._poll = poll_seconds
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._drain = drain
        if channel is not None:
            self.channel = channel
        if what is not None:
            self.what = what

    def wake(self) -> None:
        self._wake.set()

    async def drain(self) -> bool:
        """Do the work there is (the `drain` given, or a subclass's); True when anything was
        done."""
        if self._drain is None:
            raise NotImplementedError
        return await self._drain()

    async def run(self) -> None:
        def on_notify(*_: object) -> None:
            self.wake()

        listener = await self._pool.acquire()
        await listener.add_listener(self.channel, on_notify)
        try:
            # Several loops per process: one computes in Python while another waits on
            # PostgreSQL. SKIP LOCKED keeps them on different customers.
            await asyncio.gather(*(self._loop() for _ in range(self._concurrency)))
        finally:
            await listener.remove_listener(self.channel, on_notify)
            await self._pool.release(listener)

    async def _loop(self) -> None:
        while True:
            try:
                worked = await self.drain()
            except asyncio.CancelledError:
                raise
            except RetryLater as exc:
                log.info(f"{self.what} postponed", why=str(exc))
                worked = False
            except Exception as exc:
                log.exception(f"{self.what} failed; retrying")
                WATCH.failed(self.what, f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)
                continue
            WATCH.succeeded(self.what)
            if not worked:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
