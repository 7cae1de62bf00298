"""Every wait is per command (docs/contract.md §4, AssignPackage): an AssignPackage of a package
not known yet waits its own bound, counted from when it was read; later commands never
extend it; other customers' commands are applied at once; its customer's later commands keep
their order behind it; the stored offset never passes it. The chassis (batch consumer,
command skeleton, held records) is driven with the assignment handlers and in-memory fakes."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date
from functools import partial
from typing import Any

from assignment.entrypoints import subscribers
from assignment.service_layer import handlers
from assignment.service_layer.unknown_packages import UnknownPackageWait
from pkgcontract import topics
from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    AssignPackage,
    ChangeAssignment,
    CommandRejected,
    EndAssignment,
    Message,
    PackageAssigned,
    PackageDefined,
)
from pkgshared.commands import command_batches
from pkgshared.consuming import BatchConsumer
from pkgshared.holding import HeldRecords
from pkgtools.testing.waits import wait_until
from tests.unit.fakes.consuming import FakeStore, record

TOPIC = topics.ASSIGNMENT_COMMANDS
TODAY = date(2026, 3, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def defined(package_id: str) -> PackageDefined:
    return PackageDefined(
        package_id=package_id,
        version=1,
        name=package_id,
        kind="recurring",
        retail="5.00",
        currency="GBP",
        frequency="monthly",
        frequency_match=[1],
        effective_from=None,
    )


def assign(customer: str, package_id: str) -> AssignPackage:
    return AssignPackage(
        assignment_id=uuid.uuid4(),
        customer_id=customer,
        package_id=package_id,
        quantity=1,
        start_date=date(2026, 1, 1),
    )


class Service:
    """One assignment service process: its memory (what is held) and the shared store."""

    def __init__(self, store: FakeStore, clock: Any = time.monotonic, seconds: float = 10.0):
        self.store = store
        self.held = HeldRecords(clock=clock, retry_seconds=0.01)
        handler = command_batches(
            TOPIC,
            topics.ASSIGNMENT_EVENTS,
            partial(subscribers.on_command, today=lambda: TODAY),
            prepare=partial(handlers.prepare, unknown=UnknownPackageWait(seconds, clock)),
            held=self.held,
        )
        self.consumer = BatchConsumer(
            TOPIC, handler, store.uow, rejections_topic=topics.ASSIGNMENT_EVENTS, held=self.held
        )

    async def read(self, *records: Any) -> None:
        await self.consumer.consume(list(records))

    async def tick(self, everything: bool = False) -> None:
        """What the held records' timer does when it fires (`everything`: on a wake)."""
        items = self.held.take_due(everything)
        try:
            if items:
                await self.consumer.present(items)
        finally:
            self.held.restore()


class Log:
    """A partition of assignment.commands."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def send(self, cmd: Message, key: str) -> Any:
        self.records.append(record(TOPIC, 0, len(self.records), key, cmd))
        return self.records[-1]


def answers(store: FakeStore, cmd: Message) -> list[Message]:
    """The events answering `cmd` (its PackageAssigned or CommandRejected)."""
    out: list[Message] = []
    for m in store.events():
        if isinstance(m, CommandRejected) and m.command_id == cmd.event_id:
            out.append(m)
        assigns = isinstance(cmd, AssignPackage) and isinstance(m, PackageAssigned)
        if assigns and m.assignment_id == getattr(cmd, "assignment_id", None):
            out.append(m)
    return out


async def test_another_customer_passes_at_once_and_the_offset_stays_at_the_held_one() -> None:
    store, clock, log = FakeStore(), Clock(), Log()
    await handlers.handle_catalog_event(defined("gold"), store.uow())
    service = Service(store, clock)
    waiting, other = assign("acme", "ghost"), assign("bob", "gold")
    await service.read(log.send(waiting, "acme"), log.send(other, "bob"))
    assert [type(m) for m in answers(store, other)] == [PackageAssigned]
    assert answers(store, waiting) == []
    assert store.offsets[(TOPIC, 0)] == 0  # never past the command still waiting
    clock.now += 9.9
    await service.tick()
    assert answers(store, waiting) == []
    clock.now += 0.1
    await service.tick()
    [rejected] = answers(store, waiting)
    assert isinstance(rejected, CommandRejected) and "unknown package ghost" in rejected.reason
    assert store.offsets[(TOPIC, 0)] == 2 and service.held.count == 0


async def test_a_stream_of_unknown_packages_never_extends_a_wait() -> None:
    """One every 2 s for 20 s: each is rejected at its own bound; a valid one of the same
    customer waits only for those sent before it, one of another customer not at all."""
    store, clock, log = FakeStore(), Clock(), Log()
    await handlers.handle_catalog_event(defined("gold"), store.uow())
    service = Service(store, clock)
    start = clock.now
    sent: dict[uuid.UUID, float] = {}
    answered: dict[uuid.UUID, float] = {}
    commands: list[Message] = []
    for step in range(61):  # every 0.5 s for 30 s
        at = step * 0.5
        clock.now = start + at
        batch = []
        if at < 20 and step % 4 == 0:
            batch.append(assign("acme", f"ghost-{step}"))
        if at == 5:
            batch += [assign("acme", "gold"), assign("bob", "gold")]
        for cmd in batch:
            sent[cmd.event_id] = at
            commands.append(cmd)
        if batch:
            await service.read(*(log.send(c, c.customer_id) for c in batch))
        await service.tick()
        for cmd in commands:
            if cmd.event_id not in answered and answers(store, cmd):
                answered[cmd.event_id] = at
    same, other = commands[3], commands[4]
    assert isinstance(same, AssignPackage) and same.customer_id == "acme"
    assert answered[other.event_id] == 5.0  # at once
    assert answered[same.event_id] == 14.0  # behind the one sent at 4 s, not behind later ones
    for cmd in commands:
        if cmd.package_id.startswith("ghost"):
            assert answered[cmd.event_id] == sent[cmd.event_id] + 10
            assert isinstance(answers(store, cmd)[0], CommandRejected)
    assert store.offsets[(TOPIC, 0)] == len(log.records)


async def test_a_customers_later_commands_keep_their_order_behind_the_waiting_one() -> None:
    store, clock, log = FakeStore(), Clock(), Log()
    await handlers.handle_catalog_event(defined("gold"), store.uow())
    service = Service(store, clock)
    first, second = assign("acme", "ghost"), assign("acme", "gold")
    change = ChangeAssignment(assignment_id=second.assignment_id, quantity=3)
    end = EndAssignment(assignment_id=second.assignment_id, end_date=date(2026, 6, 30))
    await service.read(log.send(first, "acme"), log.send(second, "acme"))
    clock.now += 2
    await service.read(log.send(change, "acme"), log.send(end, "acme"))
    assert store.events() == []  # not even the change rejected as of an unknown assignment
    clock.now += 1
    await handlers.handle_catalog_event(defined("ghost"), store.uow())
    await service.tick(everything=True)  # the catalog view's commit wakes them
    kinds = [type(m) for m in store.events()]
    assert kinds == [PackageAssigned, PackageAssigned, AssignmentChanged, AssignmentEnded]
    assert store.offsets[(TOPIC, 0)] == 4 and service.held.count == 0


async def test_a_restart_reads_the_waiting_command_again_and_applies_nothing_twice() -> None:
    store, clock, log = FakeStore(), Clock(), Log()
    await handlers.handle_catalog_event(defined("gold"), store.uow())
    waiting, other = assign("acme", "ghost"), assign("bob", "gold")
    await Service(store, clock).read(log.send(waiting, "acme"), log.send(other, "bob"))
    clock.now += 8  # then the process stops: what it held is gone, not lost
    again = Service(store, clock)
    await again.read(*log.records[store.offsets[(TOPIC, 0)] :])
    assert len(answers(store, other)) == 1  # read again and ignored
    clock.now += 9.9  # it waits afresh
    await again.tick()
    assert answers(store, waiting) == []
    clock.now += 0.1
    await again.tick()
    assert [type(m) for m in answers(store, waiting)] == [CommandRejected]
    assert store.offsets[(TOPIC, 0)] == 2


async def test_the_timer_releases_at_a_definition_at_once_and_at_each_bound() -> None:
    """The held records' own loop (no fake clock): a definition read releases its waiting
    command at once, a never-defined one is rejected at its bound, and the poll loop is never
    held meanwhile."""
    store, log = FakeStore(), Log()
    service = Service(store, seconds=0.6)
    runner = asyncio.create_task(service.held.run(service.consumer.present))
    try:
        never, later = assign("acme", "ghost"), assign("bob", "late")
        started = time.monotonic()
        await service.read(log.send(never, "acme"), log.send(later, "bob"))
        await handlers.handle_catalog_event(defined("late"), store.uow())
        service.held.wake()
        await wait_until(lambda: answers(store, later), "the defined package's assignment", 5)
        assert time.monotonic() - started < 0.4
        await wait_until(lambda: answers(store, never), "the unknown package's rejection", 5)
        assert 0.6 <= time.monotonic() - started < 1.5
        assert [type(m) for m in answers(store, never)] == [CommandRejected]
    finally:
        runner.cancel()


async def test_a_held_command_another_instance_has_handled_is_let_go() -> None:
    """The stored offset moved past it (its partition was handled elsewhere meanwhile): it is
    not presented again and again."""
    store, clock, log = FakeStore(), Clock(), Log()
    service = Service(store, clock)
    waiting = assign("acme", "ghost")
    await service.read(log.send(waiting, "acme"))
    store.offsets[(TOPIC, 0)] = 1
    clock.now += 10
    await service.tick()
    assert service.held.count == 0 and service.held.take_due(everything=True) == []
    assert answers(store, waiting) == []


async def test_a_command_sent_again_while_it_waits_is_answered_once() -> None:
    store, clock, log = FakeStore(), Clock(), Log()
    await handlers.handle_catalog_event(defined("gold"), store.uow())
    service = Service(store, clock)
    done = assign("acme", "gold")
    await service.read(log.send(done, "acme"))
    waiting = assign("acme", "ghost")
    await service.read(log.send(waiting, "acme"), log.send(waiting, "acme"))
    await service.read(log.send(done, "acme"))  # handled before: ignored at once
    assert service.held.count == 2 and len(answers(store, done)) == 1
    clock.now += 10
    await service.tick()
    assert [type(m) for m in answers(store, waiting)] == [CommandRejected]
    assert store.offsets[(TOPIC, 0)] == 4 and service.held.count == 0
