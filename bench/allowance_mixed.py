"""The allowance benchmark's run with reversals and rollover (`--reversed-percent P
--rollover-half`, docs/contract.md §6 Rollover and Reversal), beside the plain run.

Each repeat takes a cohort of customers of its own, as many as the plain run's, with as many
grants, half of them with rollover_percent 50 and rollover_days 30 (`--rollover-half`), all
ending at the moment the repeat's ChargesSettled settles. Its backlog is the plain run's
calls to that cohort, P % of them followed (a few records later, in the customer's order) by a
UsageReversed. The repeat is measured like a plain one (bench/allowance.py `capacity`):
stopped, backlog written, started, read, then the ChargesSettled after it: the calls are
applied and reversed (seconds back to active grants), and then every grant of the cohort
expires, half of them carrying 50 % into a rollover grant. `per_s` counts the calls applied
and reversed, as the plain figure; `expiry_seconds` is what the expiry with its rollovers took
after them (not in `per_s`: the plain run has no expiry; a month's grants expire once, not
with every backlog), and `per_s_with_expiry` counts it in.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from stream import DSN

from pkgcontract import topics
from pkgtools.testing.system import command

Record = tuple[str, str, bytes]


class MixedRun:
    def __init__(self, bench: Any, reversed_percent: float, rollover_half: bool) -> None:
        self.bench = bench
        self.reversed_percent = reversed_percent
        self.rollover_half = rollover_half
        self.cohorts = 0
        self.reversed = 0
        self.reversed_ids: list[uuid.UUID] = []  # the calls the repeat reverses

    def grant_records(
        self, customers: list[str], until: datetime, window_from: str
    ) -> list[Record]:
        out = []
        prefixes = [[], ["44"], ["4420"], ["91"], ["1"]]
        for n, customer in enumerate(customers):
            for g in range(self.bench.grants_per_customer):
                grant_id = str(uuid.uuid4())
                rollover = self.rollover_half and (n + g) % 2 == 0
                body = command(
                    "FreeMinutesGranted",
                    event_id=grant_id,
                    grant_id=grant_id,
                    customer_id=customer,
                    did=None if g % 3 else f"44{n:09d}",
                    assignment_id=str(uuid.uuid4()),
                    package_id="bench",
                    minutes=100_000,
                    destination_prefixes=prefixes[g % len(prefixes)],
                    valid_from=window_from,
                    valid_until=until.isoformat().replace("+00:00", "Z"),
                    rollover_percent=50 if rollover else 0,
                    rollover_days=30 if rollover else None,
                )
                out.append((topics.FREE_MINUTES_GRANTED, customer, json.dumps(body).encode()))
        return out

    def backlog(self, customers: list[str], n: int, start: datetime) -> list[Record]:
        """The plain backlog's calls to `customers`, every (100 / P)-th one reversed 25 records
        later (same customer: same partition, after its call)."""
        every = round(100 / self.reversed_percent) if self.reversed_percent else 0
        placed: list[tuple[float, Record]] = []
        self.reversed = 0
        self.reversed_ids = []
        for i in range(n):
            customer = customers[i % len(customers)]
            at = (start + timedelta(seconds=1 + i % 3600)).isoformat().replace("+00:00", "Z")
            usage_id = str(uuid.uuid4())
            call = command(
                "UsageRated",
                usage_id=usage_id,
                customer_id=customer,
                did=None,
                amount="0.120000",
                currency="GBP",
                destination="442071234567",
                duration_seconds=60,
            ) | {"occurred_at": at}
            placed.append((i, (topics.USAGE_RATED, customer, json.dumps(call).encode())))
            if every and i % every == 0:
                reversal = command(
                    "UsageReversed",
                    reversal_id=str(uuid.uuid4()),
                    usage_id=usage_id,
                    customer_id=customer,
                )
                back = (topics.USAGE_RATED, customer, json.dumps(reversal).encode())
                placed.append((i + 25.5, back))
                self.reversed += 1
                self.reversed_ids.append(uuid.UUID(usage_id))
        return [record for _, record in sorted(placed, key=lambda p: p[0])]

    async def run(self, producer: Any, n: int, window_from: str) -> dict[str, Any]:
        bench = self.bench
        self.cohorts += 1
        customers = [f"r{self.cohorts}-{c[1:]}" for c in bench.customers]
        start = bench.horizon
        until = start + timedelta(hours=2)  # the repeat's ChargesSettled
        grants = self.grant_records(customers, until, window_from)
        before = await bench.count("SELECT count(*) FROM {schema}.grants")
        await bench.send(producer, grants)
        await bench.wait_for("SELECT count(*) FROM {schema}.grants", before + len(grants), 600)
        rolled_before = await bench.count(
            "SELECT count(*) FROM {schema}.grants WHERE rolled_over_from IS NOT NULL"
        )
        rolling = sum(1 for _, _, v in grants if json.loads(v)["rollover_percent"])
        backlog = self.backlog(customers, n, start)

        moments: dict[str, float] = {}

        async def rolled_over() -> None:
            await bench.wait_for(
                "SELECT count(*) FROM {schema}.grants WHERE rolled_over_from IS NOT NULL",
                rolled_before + rolling,
                900,
            )
            moments["rolled"] = time.monotonic()

        expiring: list[asyncio.Task[None]] = []

        async def reversed_too() -> None:
            # Once the calls are applied and reversed the expiry runs: timed meanwhile, the
            # service is not stopped before it is done. The repeat's reversals are counted by
            # their calls' ids, every 0.1 s as the calls applied are: a count of the whole
            # covered_calls table (a scan growing by a run's calls each repeat) took longer
            # than the poll, inside the mixed runs' time only.
            sql = (
                f"SELECT count(*) FROM {bench.schema}.covered_calls "
                "WHERE usage_id = ANY($1::uuid[]) AND reversal_id IS NOT NULL"
            )
            conn = await asyncpg.connect(DSN)
            try:
                deadline = time.monotonic() + 900
                while await conn.fetchval(sql, self.reversed_ids) < self.reversed:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"not {self.reversed} reversed after 900 s")
                    await asyncio.sleep(0.1)
            finally:
                await conn.close()
            moments["reversed"] = time.monotonic()
            expiring.append(asyncio.create_task(rolled_over()))

        run = await bench.capacity(producer, n, calls=backlog, done=reversed_too)
        await asyncio.gather(*expiring)
        expiry = max(moments["rolled"] - moments["reversed"], 0.0)
        run["reversed"] = self.reversed
        run["rollover_grants"] = rolling
        run["expiry_seconds"] = round(expiry, 2)
        run["per_s_with_expiry"] = round(n / (run["seconds"] + expiry))
        return run

    @staticmethod
    def line(run: dict[str, Any]) -> str:
        return (
            f"with {run['reversed']} reversed, {run['rollover_grants']} grants rolling over: "
            f"{run['per_s']} calls/s, capacity / I/O floor {run['of_io_floor']}, / librdkafka "
            f"floor {run['of_librdkafka_floor']}; expiry {run['expiry_seconds']} s"
        )


def mixed_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The medians of the runs with reversals and rollover (each with its floors)."""
    return {
        "runs": runs,
        "capacity_per_s": statistics.median(r["per_s"] for r in runs),
        "io_floor_per_s": statistics.median(r["io_floor"]["per_s"] for r in runs),
        "of_io_floor": statistics.median(r["of_io_floor"] for r in runs),
        "expiry_seconds": statistics.median(r["expiry_seconds"] for r in runs),
        "per_s_with_expiry": statistics.median(r["per_s_with_expiry"] for r in runs),
    }
