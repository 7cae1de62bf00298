"""pkgctl against the running system: every command, as an operator would type it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario
from pkgtools.testing.system import define_package
from tests.e2e.cli import ok, pkgctl


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
    # change and end find the assignment's customer (the key) themselves, and refuse a
    # wrong one before anything is sent.
    wrong = await pkgctl(s, "change", aid, "--customer", "someone-else", "--quantity", "9")
    assert wrong.returncode == 2 and f"belongs to customer '{customer}'" in wrong.stderr
    changed = await ok(
        s, "--json", "change", aid, "--quantity", "3", "--effective-from", "2026-03-01"
    )
    changed_event = json.loads(changed)
    assert changed_event["event_type"] == "AssignmentChanged"
    assert changed_event["customer_id"] == customer and changed_event["quantity"] == 3
    assert changed_event["correlation_id"]  # pkgctl sets one; the event carries it

    # run-package simulates unless --real; a summary unless --lines; an unknown customer is
    # refused before anything is sent.
    simulated = await ok(s, "run-package", "--customer", customer, "--date", "2026-02-20")
    assert "would_charge" in simulated and "total to charge: 20.00 GBP" in simulated
    assert "4 line(s)" in simulated
    detail = await ok(s, "run-package", "--customer", customer, "--date", "2026-02-20", "--lines")
    assert detail.count("would_charge") == 4
    real = await ok(s, "run-package", "--customer", customer, "--date", "2026-02-20", "--real")
    assert "charged" in real and "total charged: 20.00 GBP" in real
    assert "charged for real: 4 charge(s) made now" in real
    again = await ok(
        s, "--json", "run-package", "--customer", customer, "--date", "2026-02-20", "--real"
    )
    assert [x["status"] for x in json.loads(again)["lines"]] == ["already_charged"] * 4
    unknown = await pkgctl(s, "run-package", "--customer", "nobody-at-all", "--date", "2026-02-20")
    assert unknown.returncode == 1 and "knows no customer" in unknown.stderr

    before_tick = datetime.now(UTC)
    assert "sent ClockTicked at 2026-03-20T00:00:00Z" in await ok(
        s, "tick", "--at", "2026-03-20T00:00:00Z"
    )
    await s.wait(3, event_type="CreditDebited", assignment_id=aid)
    tail = await ok(s, "tail", "billing.credit-debited", "--customer", customer)
    assert tail.count("CreditDebited") == 3 and '"amount":"15.00"' in tail
    last = await ok(s, "tail", "billing.credit-debited", "--customer", customer, "--last", "1")
    assert last.count("CreditDebited") == 1  # the customer's partition's last message only
    # --since: only what was written after the moment (the tick's debit, not the run's).
    since = await ok(
        s,
        "tail",
        "billing.credit-debited",
        "--customer",
        customer,
        "--since",
        before_tick.isoformat(),
    )
    assert since.count("CreditDebited") == 1 and '"reason":"scheduled"' in since

    # A tick not later than the charger's clock is said to change nothing, at once.
    ignored = await pkgctl(s, "tick", "--at", "2026-03-19T00:00:00Z", "--wait")
    assert ignored.returncode == 1 and "ignored" in ignored.stderr, ignored.stderr

    assert "AssignmentEnded" in await ok(s, "end", aid, "--end", "2026-12-31")
    assert "PackageRetired" in await ok(s, "retire", "gold")

    rejected = await pkgctl(
        s, "assign", "--customer", customer, "--package", "gold", "--start", "2026-05-01"
    )
    assert rejected.returncode == 1 and "retired" in rejected.stderr


async def test_dead_letters_can_be_listed_shown_and_replayed(charging: Scenario) -> None:
    s = charging
    await s.system.send(topics.CATALOG_COMMANDS, b"definitely not json", key="broken")
    # A whole DefinePackage but for a typo in its event_type: unreadable, so dead-lettered.
    fixable = define_package("fixable") | {"event_type": "DefinePackag"}
    await s.system.send(topics.CATALOG_COMMANDS, fixable, key="fixable")
    async with s.system.reader(topics.CATALOG_COMMANDS + ".dlq") as reader:
        await reader.wait_for(lambda rs: len(rs) >= 2, what="two dead letters")

    listed = await ok(s, "dlq", "list", "catalog.commands")
    assert "2 dead letter(s)" in listed and "not JSON" in listed
    letters = json.loads(await ok(s, "--json", "dlq", "list", "catalog.commands"))
    # The two keys are on two partitions: which letter came first is not defined.
    garbage, typo = (
        str(next(x["_offset"] for x in letters if x["key"] == key)) for key in ("broken", "fixable")
    )
    shown = await ok(s, "dlq", "show", "catalog.commands", garbage)
    assert "definitely not json" in shown
    # Replayed as it is, it goes back to the .dlq: said so, exit 1.
    again = await pkgctl(s, "dlq", "replay", "catalog.commands", garbage)
    assert again.returncode == 1 and "dead-lettered" in again.stderr, again.stderr

    # Fixed with --set and replayed: keyed and headed as a command should be, then defined;
    # money given as a number is sent as the string the field takes.
    replayed = await ok(
        s,
        "dlq",
        "replay",
        "catalog.commands",
        typo,
        "--set",
        "event_type=DefinePackage",
        "--set",
        "retail=9.99",
    )
    assert "handled (PackageDefined)" in replayed
    async with s.system.reader(topics.CATALOG_COMMANDS) as commands:
        sent = await commands.wait_for(
            lambda rs: any(r.headers.get("event_type") == b"DefinePackage" for r in rs),
            what="the fixed command",
        )
    fixed = next(r for r in sent if r.headers.get("event_type") == b"DefinePackage")
    assert fixed.key == b"fixable"
    defined = await s.wait(1, event_type="PackageDefined", package_id="fixable")
    assert defined[0]["retail"] == "9.99"
    marked = json.loads(await ok(s, "--json", "dlq", "list", "catalog.commands"))
    assert {x["_offset"]: x["_replayed"] for x in marked if x["key"] == "fixable"} == {
        int(typo): True
    }
    bad = await pkgctl(s, "dlq", "replay", "catalog.commands", garbage, "--set", "x=1")
    assert bad.returncode == 2 and "not JSON" in bad.stderr


async def test_the_catalog_view_a_redefinition_note_and_a_call_no_grant_covers(
    everything: Scenario,
) -> None:
    """What the operator walk-through asked for: the catalog through its read API (every
    version), a redefinition that leaves out what the previous version had said so before it
    is sent, and `usage --wait` said at once when no grant can cover the call."""
    s = everything
    package = f"walk-{s.customer}"
    base = ["define", package, "--name", "Walk", "--kind", "free_minutes", "--retail", "1.00"]
    base += ["--currency", "GBP", "--frequency", "monthly", "--match", "1"]
    await ok(s, *base, "--free-minutes", "10", "--prefix", "44", "--notify-at", "80")
    again = await pkgctl(s, *base, "--free-minutes", "20")
    assert again.returncode == 0, again.stderr
    assert "destination_prefixes" in again.stderr and "notify_at_percent" in again.stderr
    listed = json.loads(await ok(s, "--json", "packages"))
    mine = next(p for p in listed if p["package_id"] == package)
    assert mine["latest_version"] == 2 and mine["latest"]["free_minutes"] == 20
    versions = json.loads(await ok(s, "--json", "package", package))["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["notify_at_percent"] == [80] and versions[1]["notify_at_percent"] == []
    unknown = await pkgctl(s, "package", "no-such-package")
    assert unknown.returncode == 1 and "knows no package" in unknown.stderr

    # No grant at all for this customer: the call is sent, and said so at once.
    call = await pkgctl(
        s,
        "usage",
        "--customer",
        s.customer,
        "--destination",
        "442071234567",
        "--seconds",
        "60",
        "--amount",
        "0.10",
        "--currency",
        "GBP",
        "--wait",
        "--timeout",
        "60",
    )
    assert call.returncode == 1 and "no grant" in call.stderr, call.stderr


async def test_a_profile_file_points_pkgctl_at_the_system(
    charging: Scenario, tmp_path: Path
) -> None:
    """Issue 35: pkgctl chosen by a profile (--profile, PKGCTL_PROFILE), with none of the
    system's variables set; it says which system on the clock's screen, a variable still wins
    over the profile, and a bad setting is one line naming it (exit 2)."""
    s = charging
    config = tmp_path / "config"
    (config / "pkgctl").mkdir(parents=True)
    apis = "\n".join(
        f'{name}_api = "http://127.0.0.1:{process.port}"'
        for name, process in s.system.services.items()
    )
    (config / "pkgctl" / "profiles.toml").write_text(
        f'[profiles.e2e]\nbootstrap_servers = "{s.system.bootstrap}"\n'
        f'topic_prefix = "{s.system.prefix}"\n{apis}\n'
        '[profiles.elsewhere]\nbootstrap_servers = "127.0.0.1:9"\n'
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API") and not k.startswith("KAFKA_") and k != "TOPIC_PREFIX"
    } | {"XDG_CONFIG_HOME": str(config), "COLUMNS": "200"}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pkgctl", *args],
            env=env | extra,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    package = f"prof-{s.customer}"
    define = [
        "define", package, "--name", "Profiled", "--kind", "recurring", "--retail", "5.00",
        "--currency", "GBP", "--frequency", "monthly", "--match", "1",
    ]  # fmt: skip
    done = await asyncio.to_thread(run, "--profile", "e2e", *define)
    assert done.returncode == 0 and "PackageDefined" in done.stdout, done.stdout + done.stderr
    listed = await asyncio.to_thread(run, "--json", "packages", PKGCTL_PROFILE="e2e")
    assert listed.returncode == 0, listed.stderr
    assert package in {p["package_id"] for p in json.loads(listed.stdout)}
    clock = await asyncio.to_thread(run, "clock", PKGCTL_PROFILE="e2e")
    assert clock.returncode == 0, clock.stderr
    assert f"system: profile e2e (broker {s.system.bootstrap})" in clock.stdout

    # Nothing chosen (two profiles): said how to choose, nothing guessed.
    unchosen = await asyncio.to_thread(run, "clock")
    assert unchosen.returncode == 2 and "--profile" in unchosen.stderr, unchosen.stderr
    # A variable wins over the profile, and a bad one is one line naming it.
    bad = await asyncio.to_thread(run, "packages", PKGCTL_PROFILE="e2e", CATALOG_API="127.0.0.1:1")
    assert bad.returncode == 2 and "CATALOG_API" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
