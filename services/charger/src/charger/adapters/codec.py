"""Domain values to and from the JSON kept in the charger's tables."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from charger.domain.model import Assignment, PackageVersion, Terms
from pkgshared.messages import PackageDefined


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
    )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def assignment_to_json(a: Assignment) -> str:
    return json.dumps(
        {
            "assignment_id": str(a.assignment_id),
            "customer_id": a.customer_id,
            "did": a.did,
            "package_id": a.package_id,
            "start_date": a.start_date.isoformat(),
            "end_date": a.end_date.isoformat() if a.end_date else None,
            "timezone": a.timezone,
            "terms": [
                [
                    t.effective_from.isoformat() if t.effective_from else None,
                    t.quantity,
                    t.auto_decrement_credit,
                    t.free_minutes,
                ]
                for t in a.terms
            ],
        }
    )


def assignment_from_json(text: str | dict[str, Any]) -> Assignment:
    obj = json.loads(text) if isinstance(text, str) else text
    start = _day(obj["start_date"])
    assert start is not None
    return Assignment(
        assignment_id=UUID(obj["assignment_id"]),
        customer_id=obj["customer_id"],
        did=obj["did"],
        package_id=obj["package_id"],
        start_date=start,
        end_date=_day(obj["end_date"]),
        timezone=obj["timezone"],
        terms=tuple(Terms(_day(t[0]), t[1], t[2], t[3]) for t in obj["terms"]),
    )


def money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)
