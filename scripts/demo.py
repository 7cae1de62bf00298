"""A small demo through Kafka only: define two packages, assign them, tick the clock to now,
and show the events that come back (definitions, assignments, debits, grants).

Run by `make up` once the services are started; safe to run again (new ids each time)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from pkgshared import topics
from pkgshared.testing.kafka import TopicReader, produce

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
_today = datetime.now(UTC).date()
START = _today.replace(
    day=1,
    month=_today.month - 2 if _today.month > 2 else _today.month + 10,
    year=_today.year if _today.month > 2 else _today.year - 1,
).isoformat()


def command(event_type: str, **fields: object) -> dict[str, object]:
    return {"event_type": event_type, "event_id": str(uuid.uuid4()), **fields}


async def main() -> int:
    run = uuid.uuid4().hex[:6]
    customer = f"demo-customer-{run}"
    packages = [
        command(
            "DefinePackage",
            package_id=f"uk-100-{run}",
            name="UK 100 minutes",
            kind="free_minutes",
            retail="5.00",
            currency="GBP",
            frequency="monthly",
            frequency_match=[15],
            free_minutes=100,
            destination_prefixes=["44"],
        ),
        command(
            "DefinePackage",
            package_id=f"pbx-{run}",
            name="Hosted PBX seat",
            kind="recurring",
            retail="12.50",
            cost="4.00",
            setup_retail="25.00",
            currency="GBP",
            frequency="monthly",
            frequency_match=[1],
        ),
    ]
    assignments = [
        command(
            "AssignPackage",
            assignment_id=str(uuid.uuid4()),
            customer_id=customer,
            package_id=packages[0]["package_id"],
            quantity=2,
            start_date=START,
        ),
        command(
            "AssignPackage",
            assignment_id=str(uuid.uuid4()),
            customer_id=customer,
            did="441234567890",
            package_id=packages[1]["package_id"],
            quantity=1,
            start_date=START,
        ),
    ]
    watched = (
        topics.CATALOG_PACKAGES,
        topics.ASSIGNMENT_EVENTS,
        topics.CREDIT_DEBITED,
        topics.FREE_MINUTES_GRANTED,
        topics.CHARGER_PROGRESS,
    )
    async with TopicReader(BOOTSTRAP, *watched, from_end=True) as reader:
        for p in packages:
            await produce(BOOTSTRAP, topics.CATALOG_COMMANDS, [p], key=str(p["package_id"]))
        for a in assignments:
            await produce(BOOTSTRAP, topics.ASSIGNMENT_COMMANDS, [a], key=customer)
        print(f"demo: sent 2 DefinePackage and 2 AssignPackage for {customer}; waiting...")
        await reader.wait_count(2, timeout=60, event_type="PackageAssigned", customer_id=customer)
        tick = command(
            "ClockTicked",
            tick_id=str(uuid.uuid4()),
            at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )
        await produce(BOOTSTRAP, topics.CLOCK_TICKS, [tick], key="clock")
        print(f"demo: sent a tick at {tick['at']}; waiting for ChargesSettled...")
        # Settled: every charge the tick made due is on its topic; read them to the end.
        await reader.wait_count(1, timeout=60, event_type="ChargesSettled", tick_id=tick["tick_id"])
        while await reader.poll(0.5):
            pass
        mine = [json.loads(r.value or b"{}") for r in reader.records]
        mine = [b for b in mine if run in json.dumps(b)]
    for b in mine:
        if b["event_type"] in ("PackageDefined", "PackageAssigned"):
            print(
                f"  {b['event_type']:<18} {b['package_id']:<16} "
                + (
                    f"quantity {b['quantity']} from {b['start_date']}"
                    + (f" on DID {b['did']}" if b.get("did") else "")
                    if b["event_type"] == "PackageAssigned"
                    else f"{b['kind']} {b['retail']} {b['currency']} {b['frequency']}"
                )
            )
    for package_id in sorted({b["package_id"] for b in mine}):
        debits = [
            b for b in mine if b["event_type"] == "CreditDebited" and b["package_id"] == package_id
        ]
        grants = [
            b
            for b in mine
            if b["event_type"] == "FreeMinutesGranted" and b["package_id"] == package_id
        ]
        total = sum(Decimal(d["amount"]) for d in debits)
        kinds = ", ".join(sorted({d["kind"] for d in debits}))
        print(
            f"  charges of {package_id:<16} {len(debits)} CreditDebited ({kinds}) totalling "
            f"{total} GBP; {len(grants)} FreeMinutesGranted totalling "
            f"{sum(g['minutes'] for g in grants)} minutes"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
