"""The allowance service end to end (CONTRACT.md §6), as a process driven only through Kafka:
the contract's worked example with the other three services, and on its own (grants, calls
and ChargesSettled written to its input topics) under kill -9 and with two instances: every
call applied once, the uses and balances exactly what the rules give."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from allowance.domain.model import Call, Grant, cover

from pkgshared import topics
from pkgshared.testing.kafka import produce_keyed
from pkgshared.testing.scenario import WATCHED, Scenario
from pkgshared.testing.system import System, body, command, started_system

OUTPUTS = (topics.FREE_MINUTES_USED, topics.ALLOWANCE_BALANCES)


def natural_id(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packages:{key}"))


@pytest.fixture
async def everything(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> AsyncIterator[Scenario]:
    modules = ("catalog", "assignment", "charger", "allowance")
    async with (
        started_system(kafka_bootstrap, database_url, tmp_path, *modules) as system,
        system.reader(*WATCHED, *OUTPUTS) as reader,
    ):
        yield Scenario(system, reader)


async def test_the_contracts_worked_example(everything: Scenario) -> None:
    s = everything
    pkg = await s.define(
        kind="free_minutes",
        retail="5.00",
        frequency="monthly",
        frequency_match=[15],
        free_minutes=100,
        destination_prefixes=["44"],
    )
    await s.assign(pkg["package_id"], quantity=2, start_date="2026-01-10")
    calls = [
        ("442071234567", "2026-01-20T10:00:00Z", 300, "0.600000"),
        ("919812345678", "2026-01-20T11:00:00Z", 120, "0.480000"),
        ("442079999999", "2026-02-14T09:00:00Z", 12_000, "24.000000"),
    ]
    ids = []
    for destination, at, seconds, amount in calls:
        usage_id = str(uuid.uuid4())
        ids.append(usage_id)
        await s.send(
            topics.USAGE_RATED,
            "UsageRated",
            s.customer,
            usage_id=usage_id,
            customer_id=s.customer,
            amount=amount,
            currency="GBP",
            occurred_at=at,
            destination=destination,
            duration_seconds=seconds,
        )
    await s.settle("2026-03-20T00:00:00Z")
    used = await s.wait(2, event_type="FreeMinutesUsed", customer_id=s.customer)
    january = next(
        g for g in s.of("FreeMinutesGranted") if g["valid_from"] == "2026-01-15T00:00:00Z"
    )
    assert [u["usage_id"] for u in used] == [ids[0], ids[2]]
    first, third = used
    assert first["event_id"] == natural_id(f"used:{ids[0]}")
    assert (first["covered_seconds"], Decimal(first["credit"]), first["amount"]) == (
        300,
        Decimal("0.6"),
        "0.600000",
    )
    assert first["grants"] == [
        {"grant_id": january["grant_id"], "seconds": 300, "remaining_seconds": 11_700}
    ]
    assert (third["covered_seconds"], Decimal(third["credit"])) == (11_700, Decimal("23.4"))
    assert third["grants"] == [
        {"grant_id": january["grant_id"], "seconds": 11_700, "remaining_seconds": 0}
    ]
    assert (third["duration_seconds"], third["destination"]) == (12_000, "442079999999")
    # The January grant's last balance: all used, expired (the settled tick passed it).
    await s.reader.wait_for(
        lambda _: _last_balance(s, january["grant_id"]).get("used_seconds") == 12_000,
        timeout=60,
        what="the January grant's balance",
    )
    last = _last_balance(s, january["grant_id"])
    assert (last["status"], last["remaining_seconds"], last["granted_seconds"]) == (
        "expired",
        0,
        12_000,
    )
    assert last["event_id"] == natural_id(f"balance:{january['grant_id']}:12000:expired")


def _last_balance(s: Scenario, grant_id: str) -> dict[str, Any]:
    found = s.of("AllowanceBalance", grant_id=grant_id)
    return found[-1] if found else {}


# ---------------------------------------------------------------- the service alone, under faults

SETTLED_AT = datetime(2026, 3, 1, tzinfo=UTC)


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def workload(seed: int, customers: int = 40, calls: int = 1500) -> dict[str, Any]:
    """Grants (customer- and DID-level, with and without prefixes, some ending before the
    settled tick) and calls for `customers`, and what the rules make of them in order."""
    rng = random.Random(seed)
    grants: dict[str, list[Grant]] = defaultdict(list)
    messages: list[tuple[str, str, dict[str, Any]]] = []
    for n in range(customers):
        customer = f"cust-{n:03d}"
        for _ in range(rng.randint(1, 3)):
            start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 40))
            g = Grant(
                grant_id=uuid.uuid4(),
                customer_id=customer,
                did=rng.choice([None, None, f"44{n:08d}"]),
                assignment_id=uuid.uuid4(),
                destination_prefixes=rng.choice([(), ("44",), ("4420", "91")]),
                valid_from=start,
                valid_until=start + timedelta(days=rng.choice([10, 30])),
                granted_seconds=rng.randint(1, 60) * 60,
            )
            grants[customer].append(g)
            messages.append(
                (
                    topics.FREE_MINUTES_GRANTED,
                    customer,
                    command(
                        "FreeMinutesGranted",
                        event_id=str(g.grant_id),
                        grant_id=str(g.grant_id),
                        customer_id=customer,
                        did=g.did,
                        assignment_id=str(g.assignment_id),
                        package_id="pkg",
                        minutes=g.granted_seconds // 60,
                        destination_prefixes=list(g.destination_prefixes),
                        valid_from=_instant(g.valid_from),
                        valid_until=_instant(g.valid_until),
                    ),
                )
            )
    sent: list[Call] = []
    for _ in range(calls):
        n = rng.randrange(customers)
        call = Call(
            usage_id=uuid.uuid4(),
            customer_id=f"cust-{n:03d}",
            did=rng.choice([None, f"44{n:08d}"]),
            destination=rng.choice(["442071234567", "919812345678", "4420", "12125550000"]),
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC)
            + timedelta(seconds=rng.randint(0, 58 * 86400)),
            duration_seconds=rng.randint(0, 900),
            amount=Decimal(rng.randint(0, 5_000_000)).scaleb(-6),
            currency="GBP",
        )
        sent.append(call)
        messages.append(
            (
                topics.USAGE_RATED,
                call.customer_id,
                command(
                    "UsageRated",
                    event_id=str(call.usage_id),
                    usage_id=str(call.usage_id),
                    customer_id=call.customer_id,
                    did=call.did,
                    amount=str(call.amount),
                    currency="GBP",
                    occurred_at=_instant(call.occurred_at),
                    destination=call.destination,
                    duration_seconds=call.duration_seconds,
                ),
            )
        )
    expected_used: dict[str, dict[str, Any]] = {}
    state = {c: list(gs) for c, gs in grants.items()}
    for call in sent:  # one customer's calls keep their order
        got = cover(call, state[call.customer_id])
        if got.uses:
            now = {u.grant.grant_id: u.grant for u in got.uses}
            state[call.customer_id] = [now.get(g.grant_id, g) for g in state[call.customer_id]]
            expected_used[str(call.usage_id)] = {
                "covered_seconds": got.covered_seconds,
                "credit": got.credit,
                "grants": [(str(u.grant.grant_id), u.seconds) for u in got.uses],
            }
    final = {str(g.grant_id): g for gs in state.values() for g in gs}
    return {"messages": messages, "used": expected_used, "final": final}


async def _send(system: System, messages: list[tuple[str, str, dict[str, Any]]]) -> None:
    by_topic: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for topic, key, message in messages:
        by_topic[topic].append((key, message))
    for topic, items in by_topic.items():
        await produce_keyed(system.bootstrap, system.topic(topic), items)  # type: ignore[arg-type]


async def _settle(system: System) -> None:
    settled = command("ChargesSettled", tick_id=str(uuid.uuid4()), at=_instant(SETTLED_AT))
    await system.send(topics.CHARGER_PROGRESS, settled, key="clock")


async def _check(system: System, want: dict[str, Any], timeout: float = 180) -> None:
    async with system.reader(*OUTPUTS) as reader:

        def used_ids(records: list[Any]) -> set[str]:
            return {
                b["usage_id"]
                for b in map(body, records)
                if b.get("event_type") == "FreeMinutesUsed"
            }

        await reader.wait_for(
            lambda rs: used_ids(rs) >= set(want["used"]), timeout=timeout, what="every use"
        )
        await reader.poll(1.0)
        events = [body(r) for r in reader.records]
    used = [e for e in events if e["event_type"] == "FreeMinutesUsed"]
    assert {u["usage_id"] for u in used} == set(want["used"])  # none extra
    for u in used:  # a republish after a crash repeats the same bytes' meaning
        expected = want["used"][u["usage_id"]]
        assert u["event_id"] == natural_id(f"used:{u['usage_id']}")
        assert u["covered_seconds"] == expected["covered_seconds"]
        assert Decimal(u["credit"]) == expected["credit"]
        assert [(g["grant_id"], g["seconds"]) for g in u["grants"]] == expected["grants"]
    last: dict[str, dict[str, Any]] = {}
    for e in events:
        if e["event_type"] == "AllowanceBalance":
            last[e["grant_id"]] = e  # one key per grant: one partition, in order
    assert set(last) == set(want["final"])
    for grant_id, g in want["final"].items():
        status = "expired" if g.valid_until <= SETTLED_AT else "active"
        assert (last[grant_id]["used_seconds"], last[grant_id]["status"]) == (
            g.used_seconds,
            status,
        ), grant_id


@pytest.mark.parametrize(
    "fault", ["allowance_before_commit@2", "allowance_after_commit@2", "outbox_published@3"]
)
async def test_kill_9_while_applying_then_restart_applies_every_call_once(
    kafka_bootstrap: str, database_url: str, tmp_path: Path, fault: str
) -> None:
    want = workload(seed=sum(map(ord, fault)))
    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        allowance = system.service("allowance", APPLY_BATCH_CUSTOMERS="5")
        allowance.start(FAULT_INJECT=fault)
        allowance.wait_healthy()
        await _send(system, want["messages"])
        await _settle(system)
        code = await asyncio.to_thread(allowance.wait_exit, 120)
        assert code == -9, allowance.tail()
        allowance.start()
        await _check(system, want)


async def test_two_instances_share_the_calls_and_apply_each_once(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    want = workload(seed=7)
    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        one = system.service("allowance", instance="a", APPLY_BATCH_CUSTOMERS="1")
        two = system.service("allowance", instance="b", APPLY_BATCH_CUSTOMERS="1")
        shared = {"DB_SCHEMA": one.env["DB_SCHEMA"], "CONSUMER_GROUP": "allowance"}
        one.env.update(shared)
        two.env.update(shared)
        for process in (one, two):
            process.start()
        for process in (one, two):
            process.wait_healthy()
        # A poison call among them: a negative duration is unreadable (DeadLetter).
        bad = command(
            "UsageRated",
            usage_id=str(uuid.uuid4()),
            customer_id="cust-000",
            amount="1.00",
            currency="GBP",
            occurred_at="2026-01-05T00:00:00Z",
            destination="4420",
            duration_seconds=-5,
        )
        await _send(system, [*want["messages"], (topics.USAGE_RATED, "cust-000", bad)])
        await _settle(system)
        await _check(system, want)
        async with system.reader(topics.dlq_topic(topics.USAGE_RATED)) as dlq:
            letters = await dlq.wait_count(1, timeout=30, event_type="DeadLetter")
        assert "duration_seconds" in body(letters[0])["error"]
        assert body(letters[0])["consumer"].startswith("allowance")
        worked = [p for p in (one, two) if '"calls applied"' in p.log_path.read_text()]
        assert len(worked) == 2, "both instances should have applied calls"
