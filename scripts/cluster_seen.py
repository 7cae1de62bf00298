"""What the cluster test has seen on the topics (scripts/cluster_check.py): read from their
start with read_committed (as the services read), in the background, each record parsed once:
the event ids of the run's customers by event type, how many records carried each id, and when
each tick was settled."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from pkgctl import broker
from pkgtools.topic_io import TopicReader

ALWAYS = {"TickRefused", "CommandRejected"}  # counted whoever they concern


class Seen:
    def __init__(self, bootstrap: str, names: Iterable[str], run: str) -> None:
        options = broker.security() | {"isolation_level": "read_committed"}
        self.reader = TopicReader(bootstrap, *names, client_options=options)
        self.run = run
        self.by_type: dict[str, set[str]] = defaultdict(set)
        self.records: Counter[tuple[str, str]] = Counter()
        self.settled: dict[str, float] = {}  # tick_id -> time.monotonic() when read
        self.first: dict[tuple[str, str], tuple[str, int, int]] = {}  # -> topic, partition, offset
        self.poll_errors = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Seen:
        await self.reader.__aenter__()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stop()
        await self.reader.__aexit__(*exc)

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.reader.poll(0.5)
            except Exception:  # a broker going away mid-fetch: the next poll goes on
                self.poll_errors += 1
                await asyncio.sleep(0.5)
            self._take()

    def _take(self) -> None:
        for record in self.reader.records:
            try:
                body: Any = json.loads(record.value or b"null")
            except ValueError:
                continue
            if not isinstance(body, dict):
                continue
            kind = body.get("event_type", "")
            if kind == "ChargesSettled":
                self.settled.setdefault(body.get("tick_id", ""), time.monotonic())
            elif kind in ALWAYS or self._mine(body):
                event_id = str(body.get("event_id"))
                self.by_type[kind].add(event_id)
                self.records[(kind, event_id)] += 1
                where = (record.topic, record.partition, record.offset)
                self.first.setdefault((kind, event_id), where)
        self.reader.records.clear()

    def _mine(self, body: dict[str, Any]) -> bool:
        owner = body.get("customer_id") or body.get("package_id") or ""
        return isinstance(owner, str) and owner.startswith(self.run + "-")

    def count(self, kind: str) -> int:
        return len(self.by_type.get(kind, ()))

    def ids(self, kind: str) -> set[str]:
        return self.by_type.get(kind, set())

    def repeated(self, kind: str) -> int:
        """Records beyond the first under one id (an outbox row published again)."""
        return sum(n - 1 for (k, _), n in self.records.items() if k == kind and n > 1)

    def after(self, kind: str, ends: dict[tuple[str, int], int]) -> int:
        """How many `kind` events were first written at or past `ends` (end offsets taken once
        a ChargesSettled was read): published after it, which docs/contract.md §4 forbids."""
        return sum(
            1
            for (k, _), (topic, partition, offset) in self.first.items()
            if k == kind and (topic, partition) in ends and offset >= ends[(topic, partition)]
        )

    async def until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        began = time.monotonic()
        while not done():
            if time.monotonic() - began > timeout:
                counts = {k: len(v) for k, v in self.by_type.items()}
                raise TimeoutError(f"no {what} after {timeout:.0f} s; seen {counts}")
            await asyncio.sleep(0.2)

    async def read_to_end(self) -> None:
        await self._stop()
        await self.reader.read_to_end(timeout=120)
        self._take()
