"""Catalog rules (docs/contract.md §4 Catalog), as pure functions of the current state and a
command."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pkgcontract.messages import (
    DefinePackage,
    FieldError,
    PackageDefined,
    PackageRetired,
    RetirePackage,
    normalize_frequency_match,
)
from pkgshared.exceptions import RuleBroken

# A redefinition may not change what the package *is*; only its terms.
IMMUTABLE = ("kind", "currency", "frequency", "frequency_match")


@dataclass(frozen=True)
class PackageState:
    latest: PackageDefined
    retired: bool


def define(current: PackageState | None, cmd: DefinePackage, today: date) -> PackageDefined:
    """The PackageDefined that `cmd` makes, or RuleBroken."""
    match = normalize_frequency_match(cmd.frequency, cmd.frequency_match)
    terms = cmd.model_dump(
        exclude={"event_id", "event_type", "occurred_at", "schema_version", "correlation_id"}
    )
    terms["frequency_match"] = match
    if current is None:
        return PackageDefined(**terms, version=1, correlation_id=cmd.correlation_id)
    if current.retired:
        raise RuleBroken(
            f"package {cmd.package_id} is retired and cannot be redefined",
            errors=[FieldError(field="package_id", message="package is retired")],
        )
    changed = [f for f in IMMUTABLE if terms[f] != getattr(current.latest, f)]
    if changed:
        raise RuleBroken(
            f"a new version of {cmd.package_id} cannot change {', '.join(changed)}; "
            "define a new package instead",
            errors=[FieldError(field=f, message="cannot change in a new version") for f in changed],
        )
    terms["effective_from"] = cmd.effective_from or today
    return PackageDefined(
        **terms, version=current.latest.version + 1, correlation_id=cmd.correlation_id
    )


def retire(current: PackageState | None, cmd: RetirePackage) -> PackageRetired:
    if current is None:
        raise RuleBroken(
            f"unknown package {cmd.package_id}",
            errors=[FieldError(field="package_id", message="unknown package")],
        )
    if current.retired:
        raise RuleBroken(
            f"package {cmd.package_id} is already retired",
            errors=[FieldError(field="package_id", message="already retired")],
        )
    return PackageRetired(
        package_id=cmd.package_id,
        version=current.latest.version,
        correlation_id=cmd.correlation_id,
    )
