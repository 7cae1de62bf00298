"""Where the allowance's CPU goes, per call and per stage, in this process alone (no Kafka, no
PostgreSQL): the same calls and grants as bench/allowance.py (`--customers` customers with
`--grants-per-customer` grants each, every call covered), through the service's own code.

    uv run python bench/allowance_stages.py [--calls 100000] [--repeats 3]
        [--reversed-percent 10] [--profile]

Stages, as a call goes through them:
- read: the record read (`pkgshared.incoming.incoming`: the contract's fast reader) and held
  (`CallsCheckpoint.read`: the call made, added to the waiting calls);
- choose: the checkpoint's choice of a transaction's calls (settled ones, the customers' cut,
  the resume points), and their leaving memory after the commit;
- cover: `handlers.apply_calls` on an in-memory repository: covering each call, the domain
  events, their bytes and outbox rows (FreeMinutesUsed per call, one AllowanceBalance per
  grant per transaction);
- statements: what asyncpg would encode is not here (PostgreSQL's share is measured by
  bench/allowance.py as the server's CPU).
With `--reversed-percent P`, every (100 / P)-th call is followed 25 records later (same
customer, as bench/allowance_mixed.py places them) by a UsageReversed of it: read and held like
a call, and applied by `apply_calls` with the calls (the covered calls it names are found in
the transaction's own batch, or in the in-memory covered calls of earlier ones). `--profile`
prints cProfile's top functions of the last run (cumulative).
CPU is `time.process_time` (this process only), best of `--repeats`; the machine's other load
matters less than for wall time, not nothing."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import sys
import time
import uuid
from collections import defaultdict, namedtuple
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# bench/allowance.py would hide the allowance package: this folder out of the path first.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from allowance.adapters.checkpoint import CallsCheckpoint, Limits, _customers_cut  # noqa: E402
from allowance.adapters.unit_of_work import AllowanceUnitOfWork  # noqa: E402
from allowance.domain.model import Grant  # noqa: E402
from allowance.domain.reversal import CoveredBatch, CoveredCall  # noqa: E402
from allowance.service_layer import handlers  # noqa: E402
from pkgcontract import topics  # noqa: E402
from pkgshared.incoming import incoming  # noqa: E402
from pkgshared.logs import configure_logging  # noqa: E402
from pkgshared.runtime import GC_YOUNG_THRESHOLD  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HORIZON = datetime(2026, 1, 5, tzinfo=UTC)
PREFIXES = [(), ("44",), ("4420",), ("91",), ("1",)]
Record = namedtuple("Record", "topic partition offset key value")


class _Grants:
    """The repository's part that applying uses, in memory (grants by customer)."""

    def __init__(self, grants: list[Grant]) -> None:
        self.by_customer: dict[str, list[Grant]] = defaultdict(list)
        for g in grants:
            self.by_customer[g.customer_id].append(g)
        self.applied: set[uuid.UUID] = set()
        self.by_id = {g.grant_id: g for g in grants}
        self.covered: dict[uuid.UUID, tuple[CoveredBatch, int]] = {}
        self.marked: dict[uuid.UUID, uuid.UUID] = {}
        self.reversals_read: set[uuid.UUID] = set()

    async def first_applied(self, usage_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        new = set(usage_ids) - self.applied
        self.applied |= new
        return new

    async def usable_grants(self, customers: list[str], *_: Any) -> dict[str, list[Grant]]:
        return {c: list(self.by_customer[c]) for c in customers}

    async def save_used(self, grants: list[Grant]) -> None:
        for g in grants:
            mine = self.by_customer[g.customer_id]
            for n, old in enumerate(mine):
                if old.grant_id == g.grant_id:
                    mine[n] = g

    async def record_covered(self, batch: CoveredBatch) -> None:
        """Kept only when calls are reversed (a dict of where each is here, cheap; one
        INSERT of the batch's columns in the service)."""
        if self.keep_covered:
            self.covered.update((u, (batch, n)) for n, u in enumerate(batch.usage_ids))

    keep_covered = False

    async def first_reversals(self, reversal_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Where the service keeps every reversal_id read (a repeat is ignored)."""
        new = set(reversal_ids) - self.reversals_read
        self.reversals_read |= new
        return new

    async def covered_calls(self, usage_ids: list[uuid.UUID]) -> dict[uuid.UUID, CoveredCall]:
        out = {}
        for u in usage_ids:
            if u in self.covered:
                batch, n = self.covered[u]
                out[u] = batch.call(n)._replace(reversal_id=self.marked.get(u))
        return out

    async def grants_by_id(self, grant_ids: list[uuid.UUID]) -> list[Grant]:
        return [self.by_id[g] for g in grant_ids]

    async def save_returned(self, grants: list[Grant]) -> None:
        await self.save_used(grants)

    async def mark_reversed(self, reversed_calls: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
        self.marked.update(reversed_calls)


class _Subscriber:
    consumer = None


def _records(
    calls: int, customers: int, reversed_percent: float = 0.0, partitions: int = 6
) -> list[Record]:
    every = round(100 / reversed_percent) if reversed_percent else 0
    placed: list[tuple[float, str, bytes]] = []
    for i in range(calls):
        customer = f"c{i % customers:05d}"
        usage_id = str(uuid.uuid4())
        body = {
            "event_id": usage_id,
            "schema_version": 1,
            "occurred_at": (HORIZON + timedelta(seconds=1 + i % 3600)).isoformat(),
            "correlation_id": None,
            "event_type": "UsageRated",
            "usage_id": usage_id,
            "customer_id": customer,
            "did": None,
            "amount": "0.120000",
            "currency": "GBP",
            "destination": "442071234567",
            "duration_seconds": 60,
        }
        placed.append((i, customer, json.dumps(body).replace("+00:00", "Z").encode()))
        if every and i % every == 0:
            reversal_id = str(uuid.uuid4())
            back = {
                "event_id": reversal_id,
                "schema_version": 1,
                "occurred_at": HORIZON.isoformat().replace("+00:00", "Z"),
                "correlation_id": None,
                "event_type": "UsageReversed",
                "reversal_id": reversal_id,
                "usage_id": usage_id,
                "customer_id": customer,
            }
            placed.append((i + 25.5, customer, json.dumps(back).encode()))
    placed.sort(key=lambda p: p[0])
    return [
        Record("usage.rated", hash(customer) % partitions, n, customer.encode(), value)
        for n, (_, customer, value) in enumerate(placed)
    ]


def _grants(customers: int, per_customer: int) -> list[Grant]:
    return [
        Grant(
            uuid.uuid4(),
            f"c{c:05d}",
            None if g % 3 else f"44{c:09d}",
            uuid.uuid4(),
            PREFIXES[g % len(PREFIXES)],
            T0,
            T0 + timedelta(days=31),
            6_000_000,
        )
        for c in range(customers)
        for g in range(per_customer)
    ]


async def one_run(
    records: list[Record], grants: list[Grant], batch: int, customers: int, reversals: bool
) -> dict[str, float]:
    checkpoint = CallsCheckpoint(
        None,  # type: ignore[arg-type]
        None,
        lambda _: _Subscriber(),
        limits=Limits(batch_calls=batch, max_waiting=len(records) + 1),
    )
    checkpoint.wake = lambda: None  # type: ignore[method-assign]
    for p in range(6):
        checkpoint.waiting.start(p, 0)
    cpu: dict[str, float] = defaultdict(float)
    started = time.process_time()
    for start in range(0, len(records), 500):  # polls of 500
        polled = [incoming(topics.USAGE_RATED, r) for r in records[start : start + 500]]
        checkpoint.read(polled)
    cpu["read"] = time.process_time() - started
    repository = _Grants(grants)
    repository.keep_covered = reversals
    waiting = checkpoint.waiting
    waiting.set_horizon(HORIZON + timedelta(days=1))
    events = 0
    while waiting.count:
        began = time.process_time()
        assert waiting.horizon is not None
        chosen = _customers_cut(waiting.settled(waiting.horizon, batch, 1000), customers)
        waiting.resume_offsets(chosen)
        calls = [w.call for w in chosen]
        cpu["choose"] += time.process_time() - began
        began = time.process_time()
        uow = AllowanceUnitOfWork(None)
        uow.repository = repository  # type: ignore[assignment]
        await handlers.apply_calls(calls, uow)  # type: ignore[arg-type]
        events += len(uow._events)
        cpu["cover"] += time.process_time() - began
        began = time.process_time()
        waiting.remove(chosen)
        cpu["choose"] += time.process_time() - began
    n = sum(1 for r in records if b'"UsageRated"' in r.value)  # per call, as bench/allowance
    out = {stage: round(seconds / n * 1e6, 1) for stage, seconds in cpu.items()}
    out["total"] = round(sum(cpu.values()) / n * 1e6, 1)
    out["events_per_call"] = round(events / n, 3)
    return out


async def main(args: argparse.Namespace) -> int:
    # As the service logs (JSON lines, INFO; its stderr is a file): what it logs per call
    # or per reversal is part of its cost. Run with 2>/dev/null.
    configure_logging("allowance", "INFO", json=True)
    # And as the service's collector runs (pkgshared.runtime: start-up frozen, a young
    # generation of GC_YOUNG_THRESHOLD).
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    records = _records(args.calls, args.customers, args.reversed_percent)
    runs = []
    profile = cProfile.Profile() if args.profile else None
    for n in range(args.repeats):
        grants = _grants(args.customers, args.grants_per_customer)
        last = profile is not None and n == args.repeats - 1
        if last:
            profile.enable()
        runs.append(
            await one_run(
                records, grants, args.batch, args.batch_customers, bool(args.reversed_percent)
            )
        )
        if last:
            profile.disable()
    best = {k: min(r[k] for r in runs) for k in runs[0]}
    reversed_ = f", {args.reversed_percent:g} % reversed" if args.reversed_percent else ""
    print(
        f"per-call CPU (us), best of {args.repeats} runs of {args.calls} calls{reversed_}: {best}"
    )
    if profile is not None:
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(40)
        stats.print_callees("reverse")
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--grants-per-customer", type=int, default=10)
    parser.add_argument("--batch", type=int, default=10_000, help="APPLY_BATCH_CALLS")
    parser.add_argument("--batch-customers", type=int, default=10_000, help="APPLY_BATCH_CUSTOMERS")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--reversed-percent", type=float, default=0.0, help="this share of the calls reversed"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the last run")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
