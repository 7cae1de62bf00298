"""One set of tests for what the assignment handlers expect of their repository, run against
the in-memory fake the unit tests use and against the PostgreSQL one: the fake may stand in
only as long as both pass."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from assignment.adapters.repository import AssignmentRepository
from assignment.bootstrap import MIGRATIONS
from assignment.service_layer.ports import Assignments
from pkgcontract.messages import AssignmentChanged, AssignmentEnded, PackageAssigned
from pkgshared.db import SHARED_MIGRATIONS, migrate
from tests.unit.fakes.assignment import FakeAssignments

Reopen = Callable[[], Assignments]
"""A repository of a later unit of work, seeing what earlier ones flushed."""


@pytest.fixture(params=["fake", "postgres"])
async def repositories(request: Any, pool: Any) -> AsyncIterator[Reopen]:
    if request.param == "fake":
        shared = FakeAssignments()
        yield lambda: shared
        return
    await migrate(pool, SHARED_MIGRATIONS, "shared")
    await migrate(pool, MIGRATIONS)
    async with pool.acquire() as conn:
        yield lambda: AssignmentRepository(conn)


def _assigned(**changes: Any) -> PackageAssigned:
    fields: dict[str, Any] = {
        "assignment_id": uuid.uuid4(),
        "customer_id": "acme",
        "package_id": "gold",
        "package_version": 1,
        "quantity": 1,
        "start_date": "2026-01-01",
        "auto_decrement_credit": True,
        "timezone": "UTC",
    }
    return PackageAssigned.model_validate(fields | changes)


async def test_an_added_assignment_is_found_by_a_later_unit_of_work(
    repositories: Reopen,
) -> None:
    first = repositories()
    assigned = _assigned()
    await first.add(assigned, 30)
    assert (await first.get(assigned.assignment_id)) is not None
    await first.flush()
    later = repositories()
    await later.preload([assigned.assignment_id, uuid.uuid4()])
    state = await later.get(assigned.assignment_id)
    assert state is not None
    assert (state.current, state.assigned, state.minimum_days) == (assigned, assigned, 30)
    assert await later.get(uuid.uuid4()) is None


async def test_an_update_replaces_the_current_state_and_keeps_the_first(
    repositories: Reopen,
) -> None:
    first = repositories()
    assigned = _assigned()
    await first.add(assigned, None)
    await first.flush()
    second = repositories()
    await second.preload([assigned.assignment_id])
    terms = {
        f: getattr(assigned, f)
        for f in ("customer_id", "did", "package_id", "start_date", "auto_decrement_credit")
    }
    changed = AssignmentChanged(
        assignment_id=assigned.assignment_id,
        package_version=1,
        effective_from="2026-03-01",
        quantity=4,
        end_date="2026-12-31",
        free_minutes=None,
        timezone="UTC",
        **terms,
    )
    ended = AssignmentEnded(
        assignment_id=assigned.assignment_id,
        customer_id="acme",
        package_id="gold",
        end_date="2026-12-31",
    )
    await second.update(changed, ended)
    assert (await second.get(assigned.assignment_id)).current == changed  # type: ignore[union-attr]
    await second.flush()
    later = repositories()
    await later.preload([assigned.assignment_id])
    state = await later.get(assigned.assignment_id)
    assert state is not None
    assert (state.current, state.assigned) == (changed, assigned)
