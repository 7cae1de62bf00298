"""pkgctl commands can be sent again as the same command (docs/contract.md §2, §4): each says its
ids before it sends, and when no outcome comes in time it says how to see what became of the
command and the line that sends it again. Run as printed, that line makes no second
assignment and reports the first sending's outcome, even though the service ignores the
repeat."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pkgcontract import topics
from pkgtools.testing.scenario import Scenario
from pkgtools.testing.system import System
from tests.e2e.cli import ok, pkgctl

WAIT_BOUND = 10.0
"""The assignment service's UNKNOWN_PACKAGE_WAIT_SECONDS (its default, which the tests keep)."""
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
async def s(running: System) -> AsyncIterator[Scenario]:
    async with running.reader(topics.CATALOG_PACKAGES, topics.ASSIGNMENT_EVENTS) as reader:
        yield Scenario(running, reader)


def printed(stderr: str) -> tuple[str, str, list[str]]:
    """The command id and assignment id said before sending, and the resend line's words."""
    said = re.search(rf"sending AssignPackage: command id ({UUID}), assignment_id ({UUID})", stderr)
    assert said, stderr
    line = next((x.strip() for x in stderr.splitlines() if x.strip().startswith("pkgctl ")), None)
    assert line, stderr
    words = shlex.split(line)
    assert words[0] == "pkgctl"
    return said.group(1), said.group(2), words[1:]


def customer_assignments(s: Scenario, customer: str) -> list[dict[str, Any]]:
    port = s.system.services["assignment"].port
    quoted = urllib.parse.quote(customer, safe="")
    url = f"http://127.0.0.1:{port}/customers/{quoted}/assignments"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return list(json.load(answer)["items"])


async def define(s: Scenario, package: str) -> None:
    await ok(s, "define", package, "--name", package, "--kind", "recurring", "--retail", "1.00",
             "--currency", "GBP", "--frequency", "monthly", "--match", "1")  # fmt: skip


async def test_an_assign_that_timed_out_sent_again_as_printed_makes_one_assignment(
    s: Scenario,
) -> None:
    package = f"gold-{uuid.uuid4().hex[:8]}"
    await define(s, package)
    # The assignment service is down: no outcome comes in time.
    service = s.system.services["assignment"]
    await asyncio.to_thread(service.stop)
    try:
        first = await pkgctl(
            s, "assign", "--customer", s.customer, "--package", package, "--start", "2026-01-10",
            "--quantity", "2", "--timeout", "2",
        )  # fmt: skip
    finally:
        service.start()
        await asyncio.to_thread(service.wait_healthy)
    assert first.returncode == 1, first.stdout + first.stderr
    command_id, assignment_id, again = printed(first.stderr)
    assert "no outcome arrived in time" in first.stderr
    assert f"pkgctl outcome {command_id}" in first.stderr
    assert ["--command-id", command_id] == again[again.index("--command-id") :][:2]
    assert ["--assignment-id", assignment_id] == again[again.index("--assignment-id") :][:2]

    # Back up, the service applies that first sending.
    await s.reader.wait_count(1, event_type="PackageAssigned", assignment_id=assignment_id)

    # Sent again as printed: ignored by the service, and the first outcome is shown.
    resent = await pkgctl(s, *again)
    assert resent.returncode == 0, resent.stdout + resent.stderr
    assert "PackageAssigned" in resent.stdout and assignment_id in resent.stdout
    assert "sent before" in resent.stderr
    shown = await ok(s, "outcome", command_id)
    assert "PackageAssigned" in shown and assignment_id in shown

    # The same ids with another body: refused by the service, and said so.
    at = again.index("--quantity") + 1
    changed = [*again[:at], "3", *again[at + 1 :]]
    refused = await pkgctl(s, *changed)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "already used for a different command" in refused.stderr

    # Everything the customer's partition held before this is handled by now (a command that
    # waits for its outcome, keyed by the same customer, comes after them).
    await ok(s, "spend-limit", "--customer", s.customer, "--limit", "100", "--currency", "GBP")
    assigned = s.reader.matching(event_type="PackageAssigned", customer_id=s.customer)
    assert len(assigned) == 1 and assigned[0].json()["quantity"] == 2
    assert [a["assignment_id"] for a in customer_assignments(s, s.customer)] == [assignment_id]


async def test_a_command_with_no_outcome_says_how_to_follow_it(s: Scenario) -> None:
    never, other = f"never-{uuid.uuid4().hex[:8]}", f"known-{uuid.uuid4().hex[:8]}"
    await define(s, other)
    first = await pkgctl(
        s, "assign", "--customer", s.customer, "--package", never, "--start", "2026-01-10",
        "--timeout", "1",
    )  # fmt: skip
    assert first.returncode == 1
    command_id, _, again = printed(first.stderr)
    assert "no outcome arrived in time; the command was sent" in first.stderr
    assert "send it again as the same command" in first.stderr

    pending = await pkgctl(s, "outcome", command_id)
    assert pending.returncode == 1 and "no outcome" in pending.stderr, pending.stderr

    # Another customer's valid work sent meanwhile is answered in normal time: the waiting
    # command holds back no other customer's for longer than its bound (docs/contract.md §4; the
    # assignment service holds the poll it came in, so up to 10 s), not until it is resolved.
    # The rest of the margin is pkgctl's start on a busy machine.
    started = time.monotonic()
    meanwhile = await ok(
        s, "assign", "--customer", f"{s.customer}-b", "--package", other, "--start", "2026-01-10",
        "--timeout", "25",
    )  # fmt: skip
    assert "PackageAssigned" in meanwhile and time.monotonic() - started < WAIT_BOUND + 8

    # Once the service gives up waiting for the package, the rejection is the outcome: the
    # line sent again reports it (not a second timeout), and so does `pkgctl outcome`.
    await s.reader.wait_count(1, timeout=60, event_type="CommandRejected", command_id=command_id)
    resent = await pkgctl(s, *again)
    assert resent.returncode == 1 and "rejected" in resent.stderr, resent.stderr
    assert "no outcome arrived in time" not in resent.stderr
    followed = await pkgctl(s, "outcome", command_id)
    assert followed.returncode == 1 and "rejected" in followed.stderr, followed.stderr

    # A command id that was never sent is said so (sending it is safe).
    unsent = await pkgctl(s, "outcome", str(uuid.uuid4()))
    assert unsent.returncode == 1 and "it was not sent" in unsent.stderr, unsent.stderr
