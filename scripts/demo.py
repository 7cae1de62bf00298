"""A small demo through Kafka only: define packages, assign them, tick the clock to now, and
show the events that come back (definitions, assignments, debits, grants, a notice of
tomorrow's charge, an assignment back-dated two years that the catch-up limit holds until
the demo releases it, calls covered by free minutes, and minutes rolled over, used by a call
and given back when the call is reversed: scripts/demo_rollover.py).

It prints the charger's clock first and warns when it is ahead of the wall clock (left so by
an earlier tick far ahead): a tick at "now" would then change nothing, so the demo ticks just
after the charger's clock instead. A tick the charger refuses as too far ahead of its wall
clock (TickRefused: CLOCK_MAX_AHEAD_SECONDS) stops the demo with the charger's reason.

Run by `make up` once the services are started; safe to run again (new ids each time)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from demo_rollover import RolloverDemo

from pkgcontract import topics
from pkgctl import broker as pkgctl_broker
from pkgtools.topic_io import TopicReader, produce_keyed

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
SECURITY = pkgctl_broker.security()  # KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*: as the services


async def produce(topic: str, values: list[dict[str, object]], key: str) -> None:
    await produce_keyed(BOOTSTRAP, topic, [(key, v) for v in values], client_options=SECURITY)


_today = datetime.now(UTC).date()
START = _today.replace(
    day=1,
    month=_today.month - 2 if _today.month > 2 else _today.month + 10,
    year=_today.year if _today.month > 2 else _today.year - 1,
).isoformat()


PRORATED_START = date.fromisoformat(START).replace(day=10).isoformat()


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
            package_id=f"news-{run}",
            name="Daily news line",
            kind="recurring",
            retail="0.20",
            currency="GBP",
            frequency="daily",
            frequency_match=[],
            notice_days=1,
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
            proration="daily",
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
            package_id=packages[2]["package_id"],
            quantity=1,
            # The 10th: charged by the day up to the 1st (docs/contract.md §7, proration "daily").
            start_date=PRORATED_START,
        ),
        command(
            "AssignPackage",
            assignment_id=str(uuid.uuid4()),
            customer_id=customer,
            package_id=packages[1]["package_id"],
            quantity=1,
            start_date=(date.fromisoformat(START) - timedelta(days=730)).isoformat(),
        ),
    ]
    watched = (
        topics.CATALOG_PACKAGES,
        topics.ASSIGNMENT_EVENTS,
        topics.CREDIT_DEBITED,
        topics.FREE_MINUTES_GRANTED,
        topics.CHARGER_PROGRESS,
        topics.CHARGER_EVENTS,
        topics.FREE_MINUTES_USED,
        topics.ALLOWANCE_BALANCES,
    )
    clock = await pkgctl_broker.clock()
    tick_at = datetime.now(UTC)
    print(
        "demo: the charger's clock is at "
        + (clock.settled["at"] if clock.settled else "nothing yet (no tick settled)")
        + f"; the wall clock says {_instant(tick_at)}"
    )
    if clock.ahead_by is not None and clock.settled is not None:
        tick_at = datetime.fromisoformat(clock.settled["at"]) + timedelta(seconds=1)
        print(
            f"demo: warning: the charger's clock is {clock.ahead_by} ahead of the wall clock "
            "(an earlier tick far ahead): ticks at the wall clock change nothing; this demo "
            f"ticks at {_instant(tick_at)} instead"
        )
    async with TopicReader(BOOTSTRAP, *watched, from_end=True, client_options=SECURITY) as reader:
        for p in packages:
            await produce(topics.CATALOG_COMMANDS, [p], key=str(p["package_id"]))
        for a in assignments:
            await produce(topics.ASSIGNMENT_COMMANDS, [a], key=customer)
        rollover = RolloverDemo(run, tick_at)
        await produce(topics.CATALOG_COMMANDS, [rollover.package], key=f"uk-daily-{run}")
        await produce(topics.ASSIGNMENT_COMMANDS, [rollover.assignment], key=rollover.customer)
        print(
            f"demo: sent {len(packages)} DefinePackage and {len(assignments)} AssignPackage "
            f"for {customer}; waiting..."
        )
        await reader.wait_count(
            len(assignments), timeout=60, event_type="PackageAssigned", customer_id=customer
        )
        await reader.wait_count(
            1, timeout=60, event_type="PackageAssigned", customer_id=rollover.customer
        )
        await _tick(reader, tick_at)
        held = [r.json() for r in reader.matching(event_type="ChargesHeld", customer_id=customer)]
        for h in held:
            print(
                f"demo: ChargesHeld: {h['count']} charges from {h['first_period_start']} to "
                f"{h['last_period_start']} were due at once for assignment {h['assignment_id']} "
                f"(over the catch-up limit); releasing it (pkgctl release {customer} "
                f"{h['assignment_id']})"
            )
            release = command(
                "ReleaseHeldCharges", customer_id=customer, assignment_id=h["assignment_id"]
            )
            await produce(topics.CHARGER_COMMANDS, [release], key=customer)
            await reader.wait_count(
                1, timeout=60, event_type="ChargesReleased", assignment_id=h["assignment_id"]
            )
        if held:
            await _tick(reader, tick_at + timedelta(seconds=1))
        await _calls(reader, customer, tick_at)
        await rollover.show(reader, produce)
        mine = [json.loads(r.value or b"{}") for r in reader.records]
        mine = [b for b in mine if run in json.dumps(b) or b.get("customer_id") == customer]
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
    for d in (b for b in mine if b["event_type"] == "CreditDebited" and b.get("charged_days")):
        print(
            f"  CreditDebited      {d['package_id']:<16} {d['amount']} {d['currency']} for "
            f"{d['period_start']} to {d['period_end']}: {d['charged_days']} of "
            f"{d['period_days']} days (prorated)"
        )
    for n in (b for b in mine if b["event_type"] == "ChargeUpcoming"):
        print(
            f"  ChargeUpcoming     {n['package_id']:<16} {n['amount']} {n['currency']} due at "
            f"{n['due_at']} (period from {n['period_start']})"
        )
    balances = {b["grant_id"]: b for b in mine if b["event_type"] == "AllowanceBalance"}
    for b in sorted(balances.values(), key=lambda b: b["valid_from"]):
        if b["used_seconds"]:
            print(
                f"  AllowanceBalance   grant {b['grant_id'][:8]} {b['valid_from'][:10]} to "
                f"{b['valid_until'][:10]}: used {b['used_seconds']} s of {b['granted_seconds']}"
                f" s, {b['remaining_seconds']} s left ({b['status']})"
            )
    print(
        f"  ({len(balances)} grants in all; `uv run pkgctl allowances {customer}` and "
        f"`... demo-rollover-{run}` show them)"
    )
    for package_id in sorted({b["package_id"] for b in mine if "package_id" in b}):
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


async def _calls(reader: TopicReader, customer: str, settled: datetime) -> None:
    """Two rated calls a minute before the settled tick: one to 44 (free minutes cover it),
    one to 91 (they do not); wait for the allowance service's FreeMinutesUsed."""
    calls = [
        command(
            "UsageRated",
            usage_id=str(uuid.uuid4()),
            customer_id=customer,
            amount=amount,
            currency="GBP",
            occurred_at=_instant(settled - timedelta(seconds=60)),
            destination=destination,
            duration_seconds=seconds,
        )
        for destination, seconds, amount in (
            ("442071234567", 600, "1.200000"),
            ("919812345678", 120, "0.480000"),
        )
    ]
    await produce(topics.USAGE_RATED, calls, key=customer)
    print("demo: sent 2 calls (600 s to 44..., 120 s to 91...); waiting for FreeMinutesUsed...")
    used = await reader.wait_count(
        1, timeout=60, event_type="FreeMinutesUsed", usage_id=calls[0]["usage_id"]
    )
    u = used[0].json()
    print(
        f"demo: FreeMinutesUsed: {u['covered_seconds']} of {u['duration_seconds']} s covered, "
        f"{u['credit']} {u['currency']} back; the call to 91 is paid as rated"
    )
    while await reader.poll(0.5):
        pass


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def _tick(reader: TopicReader, at: datetime) -> None:
    """Tick at `at` and wait until the charger settled it; then every charge it made due is
    on its topic: read them to the end."""
    tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at=_instant(at))
    await produce(topics.CLOCK_TICKS, [tick], key="clock")
    print(f"demo: sent a tick at {tick['at']}; waiting for ChargesSettled...")
    await reader.wait_for(
        lambda rs: bool(reader.matching(rs, tick_id=tick["tick_id"])),
        timeout=120,
        what="the tick's ChargesSettled (or TickRefused)",
    )
    refused = reader.matching(event_type="TickRefused", tick_id=tick["tick_id"])
    if refused:  # the charger's clock guard (docs/contract.md §4 ClockTicked)
        raise SystemExit(f"demo: the charger refused the tick: {refused[0].json()['reason']}")
    await reader.wait_count(1, timeout=120, event_type="ChargesSettled", tick_id=tick["tick_id"])
    while await reader.poll(0.5):
        pass


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
