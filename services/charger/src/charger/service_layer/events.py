"""The contract's events for charges the charger made or declined.

Built with `model_construct`: every value comes from the charger's own domain objects, already
of the right type, and validating a million of them again per tick is the costliest part of
making them. Every field is passed, defaults included: pydantic would otherwise work out each
default per event, which cost more than the rest of the construction. The serializers (money
as strings, instants with Z) still apply, and tests/unit/test_charger_events.py checks that
what is written reads back as valid."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from charger.domain.charges import Charge
from pkgshared.messages import (
    ChargeDeclined,
    CreditDebited,
    FreeMinutesGranted,
    Message,
    natural_event_id,
)

Reason = Literal["scheduled", "run_package"]


def charged_event(charge: Charge, reason: Reason, made_at: datetime) -> Message:
    a = charge.assignment
    if charge.kind == "grant":
        grant_id = natural_event_id(charge.key)
        assert charge.minutes is not None
        return FreeMinutesGranted.model_construct(
            event_type="FreeMinutesGranted",
            event_id=grant_id,
            schema_version=1,
            occurred_at=made_at,
            correlation_id=None,
            grant_id=grant_id,
            customer_id=a.customer_id,
            did=a.did,
            assignment_id=a.assignment_id,
            package_id=a.package_id,
            minutes=charge.minutes,
            destination_prefixes=list(charge.version.destination_prefixes),
            valid_from=charge.valid_from,
            valid_until=charge.valid_until,
        )
    debit_id = natural_event_id(charge.key)
    assert charge.amount is not None
    return CreditDebited.model_construct(
        event_type="CreditDebited",
        event_id=debit_id,
        schema_version=1,
        occurred_at=made_at,
        correlation_id=None,
        debit_id=debit_id,
        customer_id=a.customer_id,
        did=a.did,
        assignment_id=a.assignment_id,
        package_id=a.package_id,
        package_version=charge.version.version,
        amount=charge.amount,
        cost=charge.cost,
        currency=charge.version.currency,
        period_start=charge.period.start,
        period_end=charge.period.end,
        kind=charge.kind,
        reason=reason,
    )


def declined_event(charge: Charge, made_at: datetime) -> ChargeDeclined:
    a = charge.assignment
    assert charge.amount is not None and charge.kind != "grant"
    return ChargeDeclined.model_construct(
        event_type="ChargeDeclined",
        event_id=natural_event_id(f"declined:{a.assignment_id}:{charge.period_key}"),
        schema_version=1,
        occurred_at=made_at,
        correlation_id=None,
        customer_id=a.customer_id,
        assignment_id=a.assignment_id,
        kind=charge.kind,
        period_start=charge.period.start,
        amount=charge.amount,
        currency=charge.version.currency,
        reason="spend_limit_exceeded",
    )
