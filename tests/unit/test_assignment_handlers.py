"""The assignment service's handlers with in-memory fakes (cosmicpython's test_handlers):
each command, what it stores and what it emits, without PostgreSQL or Kafka."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from assignment.service_layer import handlers
from assignment.service_layer.unknown_packages import UnknownPackageWait
from pkgcontract import topics
from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    AssignPackage,
    ChangeAssignment,
    EndAssignment,
    PackageAssigned,
    PackageDefined,
    PackageRetired,
    SetSpendLimit,
    SpendLimitSet,
    natural_event_id,
)
from pkgshared.exceptions import RuleBroken
from tests.unit.fakes.assignment import FakeUnitOfWork

TODAY = date(2026, 3, 1)


def _defined(package_id: str = "gold", version: int = 1, minimum_days: int | None = None):
    return PackageDefined(
        package_id=package_id,
        version=version,
        name=package_id,
        kind="recurring",
        retail="5.00",
        currency="GBP",
        frequency="monthly",
        frequency_match=[1],
        effective_from=None,
        minimum_days=minimum_days,
    )


def _assign(**changes: object) -> AssignPackage:
    fields: dict[str, object] = {
        "assignment_id": uuid.uuid4(),
        "customer_id": "acme",
        "package_id": "gold",
        "quantity": 1,
        "start_date": "2026-01-01",
    }
    return AssignPackage.model_validate(fields | changes)


async def _with_catalog(*events: PackageDefined | PackageRetired) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    for event in events:
        await handlers.handle_catalog_event(event, uow)
    return uow


async def test_an_assignment_is_stored_and_published_with_its_natural_id() -> None:
    uow = await _with_catalog(_defined(version=2))
    cmd = _assign()
    await handlers.handle_command(cmd, uow, handlers.Context(TODAY))
    [(topic, key, event)] = uow.emitted
    assert (topic, key) == (topics.ASSIGNMENT_EVENTS, "acme")
    assert isinstance(event, PackageAssigned)
    assert event.event_id == natural_event_id(f"assigned:{cmd.assignment_id}")
    assert (event.package_version, event.quantity) == (2, 1)
    assert (await uow.assignments.get(cmd.assignment_id)) is not None


async def test_the_same_assignment_again_publishes_the_same_event_and_stores_nothing_new() -> None:
    uow = await _with_catalog(_defined())
    cmd = _assign()
    await handlers.handle_command(cmd, uow, handlers.Context(TODAY))
    again = cmd.model_copy(update={"event_id": uuid.uuid4()})
    await handlers.handle_command(again, uow, handlers.Context(TODAY))
    first, second = uow.events()
    assert first == second
    assert len(uow.assignments.history[cmd.assignment_id]) == 1


async def test_an_unknown_or_retired_package_is_refused() -> None:
    uow = await _with_catalog(_defined("old"), PackageRetired(package_id="old", version=1))
    for package in ("nowhere", "old"):
        with pytest.raises(RuleBroken):
            await handlers.handle_command(_assign(package_id=package), uow, handlers.Context(TODAY))
    assert uow.emitted == []


async def test_a_change_then_an_end_are_kept_in_order_and_published() -> None:
    uow = await _with_catalog(_defined(minimum_days=30))
    cmd = _assign()
    await handlers.handle_command(cmd, uow, handlers.Context(TODAY))
    change = ChangeAssignment(assignment_id=cmd.assignment_id, quantity=3)
    await handlers.handle_command(change, uow, handlers.Context(TODAY))
    end = EndAssignment(assignment_id=cmd.assignment_id, end_date="2026-06-30")
    await handlers.handle_command(end, uow, handlers.Context(TODAY))
    _, changed, ended = uow.events()
    assert isinstance(changed, AssignmentChanged) and isinstance(ended, AssignmentEnded)
    assert (changed.quantity, changed.effective_from) == (3, TODAY)  # default: the day handled
    assert ended.end_date == date(2026, 6, 30)
    state = await uow.assignments.get(cmd.assignment_id)
    assert state is not None and state.current.end_date == date(2026, 6, 30)
    assert state.current.quantity == 3
    assert uow.assignments.history[cmd.assignment_id][1:] == [changed, ended]


async def test_an_end_inside_the_minimum_days_is_refused() -> None:
    uow = await _with_catalog(_defined(minimum_days=90))
    cmd = _assign()
    await handlers.handle_command(cmd, uow, handlers.Context(TODAY))
    with pytest.raises(RuleBroken, match="minimum"):
        await handlers.handle_command(
            EndAssignment(assignment_id=cmd.assignment_id, end_date="2026-02-01"),
            uow,
            handlers.Context(TODAY),
        )
    assert len(uow.emitted) == 1


async def test_a_change_of_an_unknown_assignment_is_refused() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(RuleBroken, match="unknown assignment"):
        await handlers.handle_command(
            ChangeAssignment(assignment_id=uuid.uuid4(), quantity=2), uow, handlers.Context(TODAY)
        )


async def test_a_spend_limit_is_stored_and_published() -> None:
    uow = FakeUnitOfWork()
    cmd = SetSpendLimit(customer_id="acme", monthly_limit="100.00", currency="GBP")
    await handlers.handle_command(cmd, uow, handlers.Context(TODAY))
    [event] = uow.events()
    assert isinstance(event, SpendLimitSet)
    assert event.event_id == natural_event_id(f"spend-limit:{cmd.event_id}")
    assert uow.assignments.limits["acme"].monthly_limit == Decimal("100.00")


def test_every_command_of_the_topic_has_a_handler() -> None:
    from pkgcontract.messages.reading import TOPIC_MESSAGES

    assert set(handlers.COMMAND_HANDLERS) == set(TOPIC_MESSAGES[topics.ASSIGNMENT_COMMANDS])


async def test_a_batch_with_a_new_assignment_waits_for_the_catalog_view() -> None:
    """The view behind catalog.packages (a retirement not read yet): the batch is retried
    rather than judged; once the view has read to where the topic ended, it goes on."""
    from pkgshared.barrier import InputsBarrier, InputsBehind

    uow = await _with_catalog(_defined())
    ends = {0: 5}
    read = {0: 4}

    async def end_offsets() -> dict[int, int]:
        return dict(ends)

    async def positions() -> dict[int, int]:
        return dict(read)

    uow.catalog.positions = positions  # type: ignore[method-assign]
    barrier: InputsBarrier[int] = InputsBarrier(end_offsets)
    cmd = _assign()
    with pytest.raises(InputsBehind):
        await handlers.prepare(uow, [cmd], barrier)
    ends[0] = 9  # published after the batch was first seen: not waited for
    read[0] = 5
    await handlers.prepare(uow, [cmd], barrier)
    # An assignment already made (a repeat) does not wait: nothing new is judged.
    await handlers.handle_command(cmd, uow, handlers.Context(TODAY))
    read[0] = 0
    await handlers.prepare(uow, [cmd], InputsBarrier(end_offsets))


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_an_assignment_of_a_package_not_known_yet_waits_for_its_definition() -> None:
    """docs/contract.md §4: the AssignPackage waits for the package's definition, counted from when
    it was first read, each command its own wait; defined in time it is assigned, never
    defined it is refused once its own wait is over (pkgshared.holding holds it meanwhile)."""
    clock = _Clock()
    unknown = UnknownPackageWait(10.0, clock)
    uow = await _with_catalog()
    early, other = _assign(), _assign(package_id="silver")
    waits = await handlers.prepare(uow, [early, other], unknown=unknown)
    assert waits == {early.event_id: 110.0, other.event_id: 110.0}
    clock.now += 4
    later = _assign(package_id="silver")
    await handlers.handle_catalog_event(_defined(), uow)
    waits = await handlers.prepare(uow, [early, other, later], unknown=unknown)
    assert waits == {other.event_id: 110.0, later.event_id: 114.0}  # gold is known now
    clock.now += 6  # `other` has waited its 10 s, `later` only 6: a later one never extends it
    assert await handlers.prepare(uow, [other, later], unknown=unknown) == {later.event_id: 114.0}
    await handlers.handle_command(early, uow, handlers.Context(TODAY))
    with pytest.raises(RuleBroken, match="silver"):
        await handlers.handle_command(other, uow, handlers.Context(TODAY))
    assert [type(e) for _, _, e in uow.emitted] == [PackageAssigned]


async def test_a_known_package_or_a_repeat_never_waits() -> None:
    unknown = UnknownPackageWait(10.0, _Clock())
    uow = await _with_catalog(_defined())
    cmd = _assign()
    assert await handlers.prepare(uow, [cmd], unknown=unknown) == {}
    await handlers.handle_command(cmd, uow, handlers.Context(TODAY))
    uow.catalog.entries.clear()
    assert await handlers.prepare(uow, [cmd], unknown=unknown) == {}  # an existing assignment
