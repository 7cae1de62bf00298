"""Assignment rules as pure functions: no Kafka, no database."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from assignment.domain import model
from pkgcontract.messages import AssignPackage, ChangeAssignment, EndAssignment
from pkgshared.exceptions import RuleBroken

TODAY = date(2026, 2, 1)
PACKAGE = model.CatalogEntry("uk-100", version=3, retired=False, minimum_days=30)


def assign_cmd(**over: Any) -> AssignPackage:
    fields: dict[str, Any] = {
        "assignment_id": uuid.UUID(int=1),
        "customer_id": "c1",
        "package_id": "uk-100",
        "quantity": 2,
        "start_date": date(2026, 1, 10),
    }
    fields.update(over)
    return AssignPackage(**fields)


def state(**over: Any) -> model.AssignmentState:
    assigned = model.assign(None, PACKAGE, assign_cmd(**over))
    assert assigned is not None
    return model.AssignmentState(assigned, assigned, PACKAGE.minimum_days)


def test_assignment_takes_the_latest_package_version_and_fills_defaults() -> None:
    assigned = model.assign(None, PACKAGE, assign_cmd())
    assert assigned is not None
    assert assigned.package_version == 3 and assigned.timezone == "UTC"
    assert assigned.auto_decrement_credit is True


def test_unknown_and_retired_packages_are_rejected() -> None:
    with pytest.raises(RuleBroken, match="unknown package"):
        model.assign(None, None, assign_cmd())
    retired = model.CatalogEntry("uk-100", 1, retired=True, minimum_days=None)
    with pytest.raises(RuleBroken, match="retired"):
        model.assign(None, retired, assign_cmd())


def test_minimum_days_bound_the_end_date() -> None:
    # start 2026-01-10 + 30 days - 1 = 2026-02-08 is the earliest end.
    assert model.assign(None, PACKAGE, assign_cmd(end_date=date(2026, 2, 8))) is not None
    with pytest.raises(RuleBroken, match="minimum of 30 days"):
        model.assign(None, PACKAGE, assign_cmd(end_date=date(2026, 2, 7)))
    with pytest.raises(RuleBroken, match="minimum"):
        model.end(state(), EndAssignment(assignment_id=uuid.UUID(int=1)), date(2026, 1, 20))


def test_the_same_assignment_twice_is_a_repeat_and_a_different_one_is_rejected() -> None:
    existing = state()
    assert model.assign(existing, PACKAGE, assign_cmd()) is None
    with pytest.raises(RuleBroken, match="already used"):
        model.assign(existing, PACKAGE, assign_cmd(quantity=3))


def test_change_keeps_what_is_not_given_and_defaults_effective_from_to_today() -> None:
    changed = model.change(
        state(end_date=date(2026, 12, 31)),
        ChangeAssignment(assignment_id=uuid.UUID(int=1), quantity=7),
        TODAY,
    )
    assert changed.quantity == 7 and changed.end_date == date(2026, 12, 31)
    assert changed.effective_from == TODAY and changed.package_version == 3


def test_change_can_remove_the_end_date_but_must_change_something() -> None:
    removed = model.change(
        state(end_date=date(2026, 12, 31)),
        ChangeAssignment(assignment_id=uuid.UUID(int=1), end_date=None),
        TODAY,
    )
    assert removed.end_date is None
    with pytest.raises(RuleBroken, match="changes nothing"):
        model.change(state(), ChangeAssignment(assignment_id=uuid.UUID(int=1)), TODAY)
    with pytest.raises(RuleBroken, match="unknown assignment"):
        model.change(None, ChangeAssignment(assignment_id=uuid.UUID(int=1), quantity=1), TODAY)


def test_end_defaults_to_today_and_keeps_the_end_in_the_state() -> None:
    current = state()
    ended = model.end(current, EndAssignment(assignment_id=uuid.UUID(int=1)), date(2026, 3, 1))
    assert ended.end_date == date(2026, 3, 1) and ended.customer_id == "c1"
    assert model.after_end(current, ended).end_date == date(2026, 3, 1)
    with pytest.raises(RuleBroken, match="before start_date"):
        model.end(current, EndAssignment(assignment_id=uuid.UUID(int=1)), date(2026, 1, 1))
