"""The compose test's fault check (run by scripts/compose-test.sh against the compose system):
a tick with tens of thousands of charges due, the charger container killed (SIGKILL) while
it charges them, started again; then every charge that tick made due must be on its topic,
and nothing else: each debit once by its natural key (docs/contract.md §5: at most once and never
lost). A record the outbox relay published again after the kill (Kafka had it, the relay had
not yet noted so) carries the same event id, so consumers count it once; the check reports
how many there were.

    uv run python scripts/compose_check.py --project NAME [--customers 1500] [--days 30]

Reads the Kafka settings from the environment (KAFKA_BOOTSTRAP_SERVERS, KAFKA_SASL_*), as
pkgctl does; prints what it saw and exits 1 when a charge is missing, or one no tick made due
is there."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from pkgcontract import topics
from pkgcontract.messages import natural_event_id
from pkgctl import broker
from pkgtools.topic_io import TopicReader, produce_keyed

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:29092")


def command(event_type: str, **fields: object) -> dict[str, object]:
    return {"event_type": event_type, "event_id": str(uuid.uuid4()), **fields}


def compose(project: str, *args: str) -> None:
    subprocess.run(["docker", "compose", "-p", project, *args], check=True, capture_output=True)


async def main(project: str, customers: int, days: int) -> int:
    security = broker.security()
    run = uuid.uuid4().hex[:6]
    package = f"kill-check-{run}"
    clock = await broker.clock()
    latest = clock.latest_tick["at"] if clock.latest_tick else None
    at = max(datetime.now(UTC), datetime.fromisoformat(latest) if latest else clock.now)
    at = at.replace(microsecond=0) + timedelta(minutes=1)
    start = (at - timedelta(days=days - 1)).date()
    assigned = {
        str(uuid.uuid4()): f"kill-check-{run}-{n}" for n in range(customers)
    }  # assignment_id -> customer
    watched = (topics.ASSIGNMENT_EVENTS, topics.CREDIT_DEBITED, topics.CHARGER_PROGRESS)
    async with TopicReader(BOOTSTRAP, *watched, from_end=True, client_options=security) as reader:
        define = command(
            "DefinePackage",
            package_id=package,
            name="kill check",
            kind="recurring",
            retail="0.10",
            currency="GBP",
            frequency="daily",
        )
        await produce_keyed(
            BOOTSTRAP, topics.CATALOG_COMMANDS, [(package, define)], client_options=security
        )
        assigns = [
            (
                customer,
                command(
                    "AssignPackage",
                    assignment_id=assignment,
                    customer_id=customer,
                    package_id=package,
                    quantity=1,
                    start_date=start.isoformat(),
                ),
            )
            for assignment, customer in assigned.items()
        ]
        await produce_keyed(BOOTSTRAP, topics.ASSIGNMENT_COMMANDS, assigns, client_options=security)  # type: ignore[arg-type]
        await reader.wait_for(
            lambda rs: sum(1 for r in rs if b'"PackageAssigned"' in (r.value or b"")) >= customers,
            timeout=180,
            what=f"{customers} PackageAssigned",
        )
        tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at=at.isoformat())
        await produce_keyed(
            BOOTSTRAP, topics.CLOCK_TICKS, [("clock", tick)], client_options=security
        )

        def debits(records: list[object]) -> int:
            return sum(
                1 for r in records if b'"CreditDebited"' in (getattr(r, "value", b"") or b"")
            )

        await reader.wait_for(lambda rs: debits(rs) > 0, timeout=180, what="the first debits")
        made_before = debits(reader.records)
        compose(project, "kill", "-s", "SIGKILL", "charger")
        killed_at = time.monotonic()
        compose(project, "up", "-d", "--no-deps", "--wait", "charger")
        print(
            f"[compose-check] charger killed after {made_before} debits, restarted in "
            f"{time.monotonic() - killed_at:.1f} s"
        )

        def settled(records: list[object]) -> bool:
            # The compose ticker ticks too: a later tick read with this one settles both
            # (docs/contract.md §4: a charger may settle only the latest of queued ticks).
            for r in records:
                value = getattr(r, "value", b"") or b""
                if b'"ChargesSettled"' in value:
                    body = json.loads(value)
                    if datetime.fromisoformat(body["at"]) >= at:
                        return True
            return False

        await reader.wait_for(settled, timeout=600, what="the tick's ChargesSettled")
        await reader.read_to_end()

    expected = {
        str(natural_event_id(f"debit:{a}:{(start + timedelta(days=d)).isoformat()}"))
        for a in assigned
        for d in range(days)
    }
    seen = Counter(
        body["debit_id"]
        for body in (json.loads(r.value) for r in reader.records if r.value)
        if body.get("event_type") == "CreditDebited"
        and body.get("customer_id") in assigned.values()
    )
    missing = expected - set(seen)
    unexpected = set(seen) - expected
    repeated = {k: n for k, n in seen.items() if n > 1}
    print(
        f"[compose-check] {len(expected)} debits due, {len(set(seen))} on the topic, "
        f"{len(missing)} missing, {len(unexpected)} unexpected; "
        f"{len(repeated)} records published again under the same event id"
    )
    return 1 if missing or unexpected else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="compose_check.py")
    parser.add_argument("--project", required=True)
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.project, args.customers, args.days)))
