"""kill -9 between receiving a command and publishing its event, restart: exactly one event.

The services reach a fault point (FAULT_INJECT) and SIGKILL themselves there, which is what
`kill -9` at that instant would do."""

from __future__ import annotations

import uuid

import pytest

from pkgcontract import topics
from pkgtools.testing.system import System, body, command, define_package


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
async def test_assignment_killed_mid_command_publishes_exactly_one_event(
    system: System, point: str
) -> None:
    catalog = system.service("catalog", instance=point).start()
    catalog.wait_healthy()
    pid = f"crash-{uuid.uuid4().hex[:8]}"
    define = define_package(pid)
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    assign = command(
        "AssignPackage",
        assignment_id=str(uuid.uuid4()),
        customer_id=customer,
        package_id=pid,
        quantity=1,
        start_date="2026-01-01",
    )
    async with system.reader(topics.CATALOG_PACKAGES, topics.ASSIGNMENT_EVENTS) as reader:
        await system.send(topics.CATALOG_COMMANDS, define, key=pid)
        await reader.wait_count(1, event_type="PackageDefined", package_id=pid)

        doomed = system.service("assignment", instance=point)
        doomed.start(FAULT_INJECT=point)
        await system.send(topics.ASSIGNMENT_COMMANDS, assign, key=customer)
        assert doomed.wait_exit(timeout=60) == -9, doomed.tail()

        doomed.start()  # same schema and consumer group, no fault this time
        doomed.wait_healthy()
        marker = command("SetSpendLimit", customer_id=customer, monthly_limit="1", currency="GBP")
        await system.send(topics.ASSIGNMENT_COMMANDS, marker, key=customer)
        await reader.wait_count(1, event_type="SpendLimitSet", customer_id=customer)

    assigned = [
        body(r) for r in reader.records if body(r).get("assignment_id") == assign["assignment_id"]
    ]
    assert [a["event_type"] for a in assigned] == ["PackageAssigned"]
    doomed.stop()
    catalog.stop()


@pytest.mark.parametrize("point", ["before_commit", "after_commit"])
async def test_catalog_killed_mid_command_publishes_exactly_one_event(
    system: System, point: str
) -> None:
    pid = f"crash-{uuid.uuid4().hex[:8]}"
    define = define_package(pid)
    marker_pid = f"marker-{uuid.uuid4().hex[:8]}"
    marker = dict(define, event_id=str(uuid.uuid4()), package_id=marker_pid)
    async with system.reader(topics.CATALOG_PACKAGES) as reader:
        doomed = system.service("catalog", instance=f"doomed{point}")
        doomed.start(FAULT_INJECT=point)
        await system.send(topics.CATALOG_COMMANDS, define, key=pid)
        assert doomed.wait_exit(timeout=60) == -9, doomed.tail()

        doomed.start()
        doomed.wait_healthy()
        await system.send(topics.CATALOG_COMMANDS, marker, key=marker_pid)
        await reader.wait_count(1, event_type="PackageDefined", package_id=marker_pid)
        await reader.wait_count(1, event_type="PackageDefined", package_id=pid)
        await reader.poll(1.0)

    defined = [body(r) for r in reader.records if body(r).get("package_id") == pid]
    assert [(d["event_type"], d["version"]) for d in defined] == [("PackageDefined", 1)]
    doomed.stop()
