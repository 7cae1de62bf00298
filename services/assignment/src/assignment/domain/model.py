"""Assignment rules (docs/contract.md §4 Assignment), as pure functions of state and command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    AssignPackage,
    ChangeAssignment,
    EndAssignment,
    PackageAssigned,
)
from pkgshared.exceptions import RuleBroken

# The fields that make an AssignPackage command what it is (idempotency compares them).
TERMS = (
    "customer_id",
    "did",
    "package_id",
    "quantity",
    "start_date",
    "end_date",
    "auto_decrement_credit",
    "free_minutes",
    "timezone",
)
CHANGEABLE = ("quantity", "end_date", "auto_decrement_credit", "free_minutes")


@dataclass(frozen=True)
class CatalogEntry:
    """The assignment service's view of one package (from catalog.packages)."""

    package_id: str
    version: int
    retired: bool
    minimum_days: int | None


@dataclass(frozen=True)
class AssignmentState:
    """An assignment as last published, with the rule data it carries."""

    current: PackageAssigned | AssignmentChanged
    assigned: PackageAssigned
    minimum_days: int | None


def _check_end(start: date, end: date | None, minimum_days: int | None) -> None:
    if end is None:
        return
    if end < start:
        raise RuleBroken(
            f"end_date {end} is before start_date {start}", "end_date", "end_date before start"
        )
    # Compared as day counts: start + minimum_days may lie past the calendar's end.
    if minimum_days and (end - start).days + 1 < minimum_days:
        if minimum_days - 1 > (date.max - start).days:
            raise RuleBroken(
                f"end_date {end} is inside the package's minimum of {minimum_days} days",
                "end_date",
                "no end date is past the package's minimum days",
            )
        earliest = start + timedelta(days=minimum_days - 1)
        raise RuleBroken(
            f"end_date {end} is inside the package's minimum of {minimum_days} days; "
            f"the earliest end is {earliest}",
            "end_date",
            f"must be on or after {earliest}",
        )


def assign(
    existing: AssignmentState | None, package: CatalogEntry | None, cmd: AssignPackage
) -> PackageAssigned | None:
    """The PackageAssigned that `cmd` makes; None when it repeats an existing assignment."""
    if existing is not None:
        same = all(getattr(existing.assigned, f) == getattr(cmd, f) for f in TERMS)
        if same:
            return None
        raise RuleBroken(
            f"assignment_id {cmd.assignment_id} is already used by a different assignment",
            "assignment_id",
            "already used by a different assignment",
        )
    if package is None:
        raise RuleBroken(f"unknown package {cmd.package_id}", "package_id", "unknown package")
    if package.retired:
        raise RuleBroken(
            f"package {cmd.package_id} is retired and cannot be newly assigned",
            "package_id",
            "package is retired",
        )
    _check_end(cmd.start_date, cmd.end_date, package.minimum_days)
    terms = {f: getattr(cmd, f) for f in TERMS}
    return PackageAssigned(
        assignment_id=cmd.assignment_id,
        package_version=package.version,
        correlation_id=cmd.correlation_id,
        **terms,
    )


def change(state: AssignmentState | None, cmd: ChangeAssignment, today: date) -> AssignmentChanged:
    if state is None:
        raise RuleBroken(
            f"unknown assignment {cmd.assignment_id}", "assignment_id", "unknown assignment"
        )
    given = [f for f in CHANGEABLE if f in cmd.model_fields_set]
    for f in ("quantity", "auto_decrement_credit"):
        if f in given and getattr(cmd, f) is None:
            raise RuleBroken(f"{f} cannot be null", f, "cannot be null")
    if not given:
        raise RuleBroken(
            "ChangeAssignment changes nothing: give quantity, end_date, auto_decrement_credit "
            "or free_minutes",
            "",
        )
    current = state.current
    updated: dict[str, object] = {f: getattr(current, f) for f in TERMS}
    updated.update({f: getattr(cmd, f) for f in given})
    end_date = cmd.end_date if "end_date" in given else current.end_date
    _check_end(current.start_date, end_date, state.minimum_days)
    return AssignmentChanged(
        assignment_id=current.assignment_id,
        package_version=current.package_version,
        effective_from=cmd.effective_from or today,
        correlation_id=cmd.correlation_id,
        **updated,
    )


def end(state: AssignmentState | None, cmd: EndAssignment, today: date) -> AssignmentEnded:
    if state is None:
        raise RuleBroken(
            f"unknown assignment {cmd.assignment_id}", "assignment_id", "unknown assignment"
        )
    current = state.current
    end_date = cmd.end_date or today
    _check_end(current.start_date, end_date, state.minimum_days)
    return AssignmentEnded(
        assignment_id=current.assignment_id,
        customer_id=current.customer_id,
        did=current.did,
        package_id=current.package_id,
        end_date=end_date,
        correlation_id=cmd.correlation_id,
    )


def after_end(state: AssignmentState, ended: AssignmentEnded) -> AssignmentChanged:
    """The assignment's state once `ended` applies (kept so later changes start from it)."""
    terms: dict[str, object] = {f: getattr(state.current, f) for f in TERMS}
    terms["end_date"] = ended.end_date
    return AssignmentChanged(
        assignment_id=state.current.assignment_id,
        package_version=state.current.package_version,
        effective_from=ended.end_date,
        **terms,
    )
