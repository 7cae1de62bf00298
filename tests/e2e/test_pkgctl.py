"""pkgctl against the running system: every command, as an operator would type it."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

from pkgshared import topics
from pkgshared.testing.scenario import Scenario


async def pkgctl(s: Scenario, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": s.system.bootstrap,
        "TOPIC_PREFIX": s.system.prefix,
        "COLUMNS": "200",
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "pkgctl", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def ok(s: Scenario, *args: str) -> str:
    result = await pkgctl(s, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def test_an_operator_session(charging: Scenario) -> None:
    s, customer = charging, charging.customer
    out = await ok(
        s,
        "define",
        "gold",
        "--name",
        "Gold",
        "--kind",
        "free_minutes",
        "--retail",
        "5.00",
        "--currency",
        "GBP",
        "--frequency",
        "monthly",
        "--match",
        "15",
        "--free-minutes",
        "100",
        "--prefix",
        "44",
    )
    assert "PackageDefined" in out and "gold" in out

    out = await ok(
        s,
        "assign",
        "--customer",
        customer,
        "--package",
        "gold",
        "--start",
        "2026-01-10",
        "--quantity",
        "2",
    )
    assert "PackageAssigned" in out
    assignment_id = re.search(r"assignment_id\s*│?\s*([0-9a-f-]{36})", out)
    assert assignment_id, out
    aid = assignment_id.group(1)

    assert "SpendLimitSet" in await ok(
        s, "spend-limit", "--customer", customer, "--limit", "1000", "--currency", "GBP"
    )
    assert "AssignmentChanged" in await ok(
        s,
        "change",
        aid,
        "--customer",
        customer,
        "--quantity",
        "3",
        "--effective-from",
        "2026-03-01",
    )

    simulated = await ok(
        s, "run-package", "--customer", customer, "--date", "2026-02-20", "--simulate"
    )
    assert simulated.count("would_charge") == 4 and "total to charge: 20.00 GBP" in simulated
    real = await ok(s, "run-package", "--customer", customer, "--date", "2026-02-20")
    assert real.count("charged") >= 4 and "total charged: 20.00 GBP" in real
    again = await ok(s, "run-package", "--customer", customer, "--date", "2026-02-20")
    assert again.count("already_charged") == 4 and "total charged: nothing" in again

    assert "sent ClockTicked at 2026-03-20T00:00:00Z" in await ok(
        s, "tick", "--at", "2026-03-20T00:00:00Z"
    )
    await s.wait(3, event_type="CreditDebited", assignment_id=aid)
    tail = await ok(s, "tail", "billing.credit-debited", "--customer", customer)
    assert tail.count("CreditDebited") == 3 and '"amount":"15.00"' in tail
    last = await ok(s, "tail", "billing.credit-debited", "--customer", customer, "--last", "1")
    assert last.count("CreditDebited") == 1  # the customer's partition's last message only

    assert "AssignmentEnded" in await ok(
        s, "end", aid, "--customer", customer, "--date", "2026-12-31"
    )
    assert "PackageRetired" in await ok(s, "retire", "gold")

    rejected = await pkgctl(
        s, "assign", "--customer", customer, "--package", "gold", "--start", "2026-05-01"
    )
    assert rejected.returncode == 1 and "retired" in rejected.stderr


async def test_dead_letters_can_be_listed_shown_and_replayed(charging: Scenario) -> None:
    s = charging
    await s.system.send(topics.CATALOG_COMMANDS, b"definitely not json", key="broken")
    await s.system.send(
        topics.CATALOG_COMMANDS, b'{"event_type": "DefinePackage", "x": 1}', key="broken"
    )
    async with s.system.reader(topics.CATALOG_COMMANDS + ".dlq") as reader:
        await reader.wait_for(lambda rs: len(rs) >= 2, what="two dead letters")

    listed = await ok(s, "dlq", "list", "catalog.commands")
    assert "2 dead letter(s)" in listed and "not JSON" in listed
    shown = await ok(s, "dlq", "show", "catalog.commands", "0")
    assert "definitely not json" in shown
    assert "replayed" in await ok(s, "dlq", "replay", "catalog.commands", "0")
    async with s.system.reader(topics.CATALOG_COMMANDS + ".dlq") as reader:
        await reader.wait_for(lambda rs: len(rs) >= 3, what="the replayed letter, again")
