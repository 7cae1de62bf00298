"""Domain values to and from the charger's table rows: an assignment as columns (its terms as
a short JSON text) with its progress (a Tracked), a package version from the PackageDefined it
was read from."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from typing import Any

from charger.domain.model import Assignment, PackageVersion, Terms, Tracked
from pkgcontract.messages import PackageDefined


def version_from_defined(d: PackageDefined) -> PackageVersion:
    return PackageVersion(
        package_id=d.package_id,
        version=d.version,
        effective_from=d.effective_from,
        kind=d.kind,
        retail=d.retail,
        cost=d.cost,
        setup_retail=d.setup_retail,
        setup_cost=d.setup_cost,
        currency=d.currency,
        frequency=d.frequency,
        frequency_match=tuple(d.frequency_match),  # type: ignore[arg-type]
        free_minutes=d.free_minutes,
        destination_prefixes=tuple(d.destination_prefixes or ()),
        notice_days=d.notice_days,
        proration=d.proration,
        notify_at_percent=tuple(d.notify_at_percent),
        rollover_percent=d.rollover_percent,
        rollover_days=d.rollover_days,
    )


COLUMN_NAMES = (
    "assignment_id",
    "customer_id",
    "did",
    "package_id",
    "start_date",
    "end_date",
    "timezone",
    "terms",
)
"""The assignments table's columns that hold an Assignment, in `assignment_columns` order."""
COLUMNS = ", ".join(COLUMN_NAMES)


def assignment_columns(a: Assignment) -> tuple[Any, ...]:
    return (
        a.assignment_id,
        a.customer_id,
        a.did,
        a.package_id,
        a.start_date,
        a.end_date,
        a.timezone,
        terms_to_json(a.terms),
    )


def assignment_from_row(row: Any) -> Assignment:
    """An Assignment from a row holding `COLUMNS`."""
    return Assignment(
        assignment_id=row["assignment_id"],
        customer_id=row["customer_id"],
        did=row["did"],
        package_id=row["package_id"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        timezone=row["timezone"],
        terms=terms_from_json(row["terms"]),
    )


TRACKED = f"{COLUMNS}, ticked_through, setup_done, run_charged, noticed_through, hold"
"""The assignments columns a Tracked is made of (`tracked_from_row`)."""


def tracked_from_row(row: Any) -> Tracked:
    return Tracked(
        assignment_from_row(row),
        row["ticked_through"],
        row["setup_done"],
        row["run_charged"],
        row["noticed_through"],
        row["hold"],
    )


def terms_to_json(terms: tuple[Terms, ...]) -> str:
    return json.dumps(
        [
            [
                t.effective_from.isoformat() if t.effective_from else None,
                t.quantity,
                t.auto_decrement_credit,
                t.free_minutes,
            ]
            for t in terms
        ]
    )


@lru_cache(maxsize=4096)
def terms_from_json(text: str) -> tuple[Terms, ...]:
    """Cached: Terms are frozen, and most assignments share a few distinct texts."""
    return tuple(
        Terms(date.fromisoformat(t[0]) if t[0] else None, t[1], t[2], t[3])
        for t in json.loads(text)
    )
