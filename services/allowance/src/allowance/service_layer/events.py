"""The contract's events for what the allowance did (CONTRACT.md §6)."""

from __future__ import annotations

from allowance.domain.model import Coverage, Grant
from pkgshared.messages import AllowanceBalance, FreeMinutesUsed, GrantUse, natural_event_id


def balance(g: Grant) -> AllowanceBalance:
    return AllowanceBalance(
        event_id=natural_event_id(f"balance:{g.grant_id}:{g.used_seconds}:{g.status}"),
        grant_id=g.grant_id,
        customer_id=g.customer_id,
        did=g.did,
        assignment_id=g.assignment_id,
        destination_prefixes=list(g.destination_prefixes),
        valid_from=g.valid_from,
        valid_until=g.valid_until,
        granted_seconds=g.granted_seconds,
        used_seconds=g.used_seconds,
        remaining_seconds=g.remaining_seconds,
        status=g.status,
    )


def used(c: Coverage) -> FreeMinutesUsed:
    call = c.call
    return FreeMinutesUsed(
        event_id=natural_event_id(f"used:{call.usage_id}"),
        usage_id=call.usage_id,
        customer_id=call.customer_id,
        did=call.did,
        destination=call.destination,
        occurred_at=call.occurred_at,
        duration_seconds=call.duration_seconds,
        covered_seconds=c.covered_seconds,
        amount=call.amount,
        credit=c.credit,
        currency=call.currency,
        grants=[
            GrantUse(
                grant_id=u.grant.grant_id,
                seconds=u.seconds,
                remaining_seconds=u.grant.remaining_seconds,
            )
            for u in c.uses
        ],
    )
