"""A small demo through Kafka only: define two packages, assign them, show the events.

Run by `make up` once the services are started; safe to run again (new ids each time)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid

from pkgshared import topics
from pkgshared.testing.kafka import TopicReader, produce

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


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
            start_date="2026-01-10",
        ),
        command(
            "AssignPackage",
            assignment_id=str(uuid.uuid4()),
            customer_id=customer,
            did="441234567890",
            package_id=packages[1]["package_id"],
            quantity=1,
            start_date="2026-01-01",
        ),
    ]
    watched = (
        topics.CATALOG_PACKAGES,
        topics.ASSIGNMENT_EVENTS,
        topics.CREDIT_DEBITED,
        topics.FREE_MINUTES_GRANTED,
    )
    async with TopicReader(BOOTSTRAP, *watched, from_end=True) as reader:
        for p in packages:
            await produce(BOOTSTRAP, topics.CATALOG_COMMANDS, [p], key=str(p["package_id"]))
        for a in assignments:
            await produce(BOOTSTRAP, topics.ASSIGNMENT_COMMANDS, [a], key=customer)
        print(f"demo: sent 2 DefinePackage and 2 AssignPackage for {customer}; waiting...")
        await reader.wait_count(2, timeout=60, event_type="PackageAssigned", customer_id=customer)
        for r in reader.records:
            body = json.loads(r.value or b"{}")
            if run not in json.dumps(body):
                continue
            what = {
                k: body.get(k)
                for k in (
                    "package_id",
                    "version",
                    "assignment_id",
                    "customer_id",
                    "did",
                    "quantity",
                    "amount",
                )
                if body.get(k) is not None
            }
            print(f"  {r.topic:<30} {body['event_type']:<20} {what}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
