"""AssignPackage commands that name a package the catalog view does not know yet wait for its
definition, for a bounded time (docs/contract.md §4): DefinePackage and AssignPackage travel on
different topics, so a sender that writes one straight after the other may have its
AssignPackage read before the catalog has published the PackageDefined.

Each command's wait is its own, counted from when it was first read (in this process: a
restart reads it again and waits afresh): commands read after it never extend it. While it
waits, it is held back with its customer's later commands (pkgshared.holding), and the other
customers' commands are applied at once."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

import structlog

log = structlog.get_logger(__name__)


class UnknownPackageWait:
    def __init__(
        self,
        seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        remember: int = 100_000,
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._first_read: OrderedDict[UUID, float] = OrderedDict()
        self._remember = remember

    def waits(self, waiting: dict[UUID, str]) -> dict[UUID, float]:
        """`waiting`: commands (by id) naming a package not known yet, with the package.
        Returns those that have waited less than `seconds` since first read, each with the
        moment (this clock) its wait ends; the others are then rejected as unknown."""
        now = self._clock()
        out = {}
        for command_id, package in waiting.items():
            first = self._first_read.get(command_id)
            if first is None:
                first = self._first_read[command_id] = now
                log.info(
                    "assignment waits for its package's definition",
                    command_id=str(command_id),
                    package_id=package,
                    seconds=self.seconds,
                )
            if now - first < self.seconds:
                out[command_id] = first + self.seconds
        while len(self._first_read) > self._remember:
            self._first_read.popitem(last=False)
        return out
