"""AssignPackage commands that name a package the catalog view does not know yet wait for its
definition, for a bounded time (CONTRACT.md §4): DefinePackage and AssignPackage travel on
different topics, so a sender that writes one straight after the other may have its
AssignPackage read before the catalog has published the PackageDefined.

The wait is counted from when the command was first read (in this process: a restart reads it
again and waits afresh). While one command of a poll waits, the poll comes again after the
consumer's pause, so each customer's commands keep their order; every command of a poll was
first read at about the same moment, so however many unknown packages a poll names, it is held
at most `seconds` in all."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

from pkgshared.exceptions import RetryLater


class PackageNotYetKnown(RetryLater):
    """An AssignPackage waits for its package's definition: the poll comes again."""


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

    def check(self, waiting: dict[UUID, str]) -> None:
        """`waiting`: the commands of a poll (by id) naming a package not known yet, with the
        package. Raises PackageNotYetKnown while any of them has waited less than `seconds`
        since first read; returns once all have waited that long (they are then rejected as
        unknown)."""
        now = self._clock()
        youngest = None
        for command_id, package in waiting.items():
            first = self._first_read.setdefault(command_id, now)
            if now - first < self.seconds and (youngest is None or first > youngest[0]):
                youngest = (first, package)
        while len(self._first_read) > self._remember:
            self._first_read.popitem(last=False)
        if youngest is not None:
            left = self.seconds - (now - youngest[0])
            raise PackageNotYetKnown(
                f"waiting for the definition of package {youngest[1]!r} "
                f"({len(waiting)} command(s); at most {left:.1f} s more)"
            )
        for command_id in waiting:
            self._first_read.pop(command_id, None)
