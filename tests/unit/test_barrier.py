"""The inputs barrier: a tick (or a command) waits for what was published before it was first
seen, not for input that keeps arriving after it."""

from __future__ import annotations

import uuid

import pytest

from pkgshared.barrier import InputsBarrier, InputsBehind


class MovingInputs:
    """Each read of the end offsets finds 10 more records than the last one."""

    def __init__(self) -> None:
        self.end = 10
        self.reads = 0

    async def __call__(self) -> dict[tuple[str, int], int]:
        self.reads += 1
        ends = {("assignment.events", 0): self.end}
        self.end += 10
        return ends


class Projections:
    def __init__(self) -> None:
        self.read = 0

    async def consumed_positions(self) -> dict[tuple[str, int], int]:
        return {("assignment.events", 0): self.read}


async def test_a_tick_waits_for_the_ends_seen_first_and_no_further() -> None:
    inputs, projections = MovingInputs(), Projections()
    barrier = InputsBarrier(inputs)
    tick = uuid.uuid4()
    with pytest.raises(InputsBehind):
        await barrier.check(tick, projections.consumed_positions)
    projections.read = 9
    with pytest.raises(InputsBehind):
        await barrier.check(tick, projections.consumed_positions)
    projections.read = 10  # the end when the tick was first seen; the topic has moved on since
    await barrier.check(tick, projections.consumed_positions)
    assert inputs.reads == 1


async def test_each_message_has_its_own_target_and_a_passed_one_is_forgotten() -> None:
    inputs, projections = MovingInputs(), Projections()
    barrier = InputsBarrier(inputs)
    first, second = uuid.uuid4(), uuid.uuid4()
    projections.read = 10
    await barrier.check(first, projections.consumed_positions)  # target 10
    with pytest.raises(InputsBehind):
        await barrier.check(second, projections.consumed_positions)  # target 20
    with pytest.raises(InputsBehind):
        await barrier.check(
            first, projections.consumed_positions
        )  # a redelivery is checked afresh: target 30


async def test_it_remembers_a_bounded_number_of_targets() -> None:
    inputs, projections = MovingInputs(), Projections()
    barrier = InputsBarrier(inputs, remember=2)
    ids = [uuid.uuid4() for _ in range(3)]
    for message_id in ids:
        with pytest.raises(InputsBehind):
            await barrier.check(message_id, projections.consumed_positions)
    assert list(barrier._targets) == ids[1:]
