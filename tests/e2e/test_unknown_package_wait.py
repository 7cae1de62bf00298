"""Every wait is per command (docs/contract.md §4, AssignPackage), with the services as processes:
a sender streams AssignPackage of packages that are never defined (one every 0.5 s for 20 s);
valid AssignPackage of another customer are answered in their usual time, those of the
streaming customer within their own bound (they wait behind the unknown ones sent before them,
never behind later ones), and each unknown one is rejected about its own bound after it was
sent. The delays measured are printed (pytest -s)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pkgcontract import topics
from pkgtools.testing.kafka import TopicReader
from pkgtools.testing.system import System
from pkgtools.testing.waits import wait_until
from tests.e2e.test_catalog_assignment import assignment, define, package, uid

BOUND = 10.0  # UNKNOWN_PACKAGE_WAIT_SECONDS, the default
STREAM_SECONDS = 20.0
EVERY = 0.5
VALID_AT = (5.0, 12.25)  # seconds into the stream


async def _answers(reader: TopicReader, answered: dict[str, tuple[float, str]]) -> None:
    """When each command was answered, by its event_id (PackageAssigned by assignment_id)."""
    while True:
        for r in await reader.poll(0.05):
            event = r.json()
            key = event.get("command_id") or event.get("assignment_id")
            if event.get("event_type") in ("CommandRejected", "PackageAssigned") and key:
                answered.setdefault(str(key), (time.monotonic(), event["event_type"]))


async def test_a_stream_of_unknown_packages_holds_no_valid_assignment_past_its_bound(
    running: System, events: TopicReader
) -> None:
    pid = (await define(running, events))["package_id"]
    streaming, other = uid("streamer"), uid("bystander")
    sent: dict[str, tuple[float, str, str]] = {}  # answer key -> (sent at, kind, customer)

    async def send(cmd: dict[str, Any], customer: str, kind: str, answer_key: str) -> None:
        await running.send(topics.ASSIGNMENT_COMMANDS, cmd, key=customer)
        sent[answer_key] = (time.monotonic(), kind, customer)

    async def stream(start: float) -> None:
        i = 0
        while (at := i * EVERY) < STREAM_SECONDS:
            await asyncio.sleep(max(0.0, start + at - time.monotonic()))
            cmd = assignment(uid(f"never-{i}"), streaming)
            await send(cmd, streaming, "unknown", cmd["event_id"])
            i += 1

    async def valid(start: float, at: float) -> None:
        await asyncio.sleep(max(0.0, start + at - time.monotonic()))
        for customer, kind in ((other, "valid, another customer"), (streaming, "valid, same")):
            cmd = assignment(pid, customer)
            await send(cmd, customer, kind, cmd["assignment_id"])

    answered: dict[str, tuple[float, str]] = {}
    async with running.reader(topics.ASSIGNMENT_EVENTS) as reader:
        watcher = asyncio.create_task(_answers(reader, answered))
        try:
            start = time.monotonic()
            await asyncio.gather(stream(start), *(valid(start, at) for at in VALID_AT))
            await wait_until(
                lambda: set(sent) <= set(answered), "every command answered", BOUND + 30
            )
        finally:
            watcher.cancel()

    delays: dict[str, list[float]] = {}
    for key, (at, kind, _customer) in sent.items():
        when, event_type = answered[key]
        assert event_type == ("CommandRejected" if kind == "unknown" else "PackageAssigned"), key
        delays.setdefault(kind, []).append(round(when - at, 2))
    print("\nanswer delays (s) behind a stream of unknown packages:")
    for kind, seconds in delays.items():
        print(f"  {kind}: n={len(seconds)} min={min(seconds)} max={max(seconds)} {seconds}")
    assert len(delays["unknown"]) == STREAM_SECONDS / EVERY
    # Another customer's commands are never held by it: its usual time, a wide margin.
    assert max(delays["valid, another customer"]) < 4.0
    # The same customer's wait behind the unknown ones sent before it: at most one bound.
    assert max(delays["valid, same"]) < BOUND + 3.0
    # Each unknown one is rejected at its own bound, never extended by the later ones.
    assert all(BOUND - 0.5 <= d < BOUND + 3.0 for d in delays["unknown"]), delays["unknown"]


async def test_a_command_waiting_when_the_service_is_killed_is_read_again(
    running: System, events: TopicReader
) -> None:
    """What waits is held in memory only: killed (kill -9, the group's offset committed past
    it), the service reads it again from the offset stored with its state, and it is assigned
    once its package is defined. Another customer's command read after it is applied once."""
    known = (await define(running, events))["package_id"]
    later, customer, other = uid("later"), uid("held"), uid("passing")
    waiting, passing = assignment(later, customer), assignment(known, other)
    await running.send(topics.ASSIGNMENT_COMMANDS, waiting, key=customer)
    await running.send(topics.ASSIGNMENT_COMMANDS, passing, key=other)
    await events.wait_count(1, event_type="PackageAssigned", customer_id=other)
    service = running.services["assignment"]
    await wait_until(lambda: waiting["event_id"] in service.tail(200), "the command held", 20)
    service.kill()
    service.start()
    service.wait_healthy()
    await running.send(topics.CATALOG_COMMANDS, package(later), key=later)
    assigned = await events.wait_count(
        1, timeout=BOUND + 20, event_type="PackageAssigned", customer_id=customer
    )
    assert {r.json()["assignment_id"] for r in assigned} == {waiting["assignment_id"]}
    await events.read_to_end()
    # Applied once (the outbox may publish an event again after a kill: the same event_id).
    passed = events.matching(event_type="PackageAssigned", customer_id=other)
    assert len({r.json()["event_id"] for r in passed}) == 1
    assert events.matching(event_type="CommandRejected", command_id=waiting["event_id"]) == []
