"""The contract's events for what the allowance did (docs/contract.md §6).

A call covered gives one FreeMinutesUsed and one AllowanceBalance per grant it used: two or
more events per call, on the service's hot path. They are written straight as JSON bytes, as
the charger writes its charges: the bytes are those the models' `to_json()` give for the same
values, field for field in the same order; tests/unit/test_allowance_events.py checks that on
generated values against the models in pkgcontract.messages, which stay the contract's
definition."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from allowance.domain.events import BalanceChanged, MinutesUsed
from allowance.domain.model import Coverage, Grant
from pkgcontract import topics
from pkgcontract.messages import (
    AllowanceThresholdReached,
    DeadLetter,
    FreeMinutesReturned,
    instant_str,
    json_text,
    money_str,
    natural_event_id_str,
)
from pkgshared.uow import Encoder

_HEADS: dict[UUID, tuple[str, str]] = {}
HEADS_KEPT = 100_000


def _grant_head(g: Grant) -> tuple[str, str]:
    """The grant_id as text, and the fields of its balance that never change, kept per
    grant_id (str() of a UUID is not free, and a covered call writes it three times)."""
    known = _HEADS.get(g.grant_id)
    if known is not None:
        return known
    if len(_HEADS) >= HEADS_KEPT:
        _HEADS.clear()
    grant_id = str(g.grant_id)
    did = "null" if g.did is None else json_text(g.did)
    assignment = "null" if g.assignment_id is None else f'"{g.assignment_id}"'
    topup = "null" if g.topup_id is None else f'"{g.topup_id}"'
    prefixes = ",".join(json_text(p) for p in g.destination_prefixes)
    known = _HEADS[g.grant_id] = (
        grant_id,
        f'"grant_id":"{grant_id}","customer_id":{json_text(g.customer_id)},"did":{did},'
        f'"assignment_id":{assignment},"topup_id":{topup},"destination_prefixes":[{prefixes}],'
        f'"valid_from":"{instant_str(g.valid_from)}",'
        f'"valid_until":"{instant_str(g.valid_until)}","granted_seconds":{g.granted_seconds},',
    )
    return known


def encoded_balance(g: Grant, made_at: str) -> bytes:
    """AllowanceBalance of `g` as it is; `made_at`: the event's occurred_at (`instant_str`)."""
    grant_id, head = _grant_head(g)
    returned = g.returned_seconds
    event_id = natural_event_id_str(
        f"balance:{grant_id}:{g.used_seconds}:r{returned}:{g.status}"
        if returned
        else f"balance:{grant_id}:{g.used_seconds}:{g.status}"
    )
    origin = "null" if g.rolled_over_from is None else f'"{g.rolled_over_from}"'
    return (
        f'{{"event_id":"{event_id}","schema_version":1,"occurred_at":"{made_at}",'
        f'"correlation_id":null,"event_type":"AllowanceBalance",{head}'
        f'"used_seconds":{g.used_seconds},"remaining_seconds":{g.remaining_seconds},'
        f'"returned_seconds":{returned},"rolled_over_from":{origin},'
        f'"rolled_over_seconds":{g.rolled_over_seconds},"status":"{g.status}"}}'
    ).encode()


def encoded_used(c: Coverage, credit: Decimal | None = None) -> bytes:
    """FreeMinutesUsed of a call free minutes covered (its occurred_at: the call's);
    `credit`: the coverage's, when known already."""
    call = c.call
    if credit is None:
        credit = c.credit
    did = "null" if call.did is None else json_text(call.did)
    uses = ",".join(
        f'{{"grant_id":"{_grant_head(u.grant)[0]}","seconds":{u.seconds},'
        f'"remaining_seconds":{u.grant.remaining_seconds}}}'
        for u in c.uses
    )
    usage_id = str(call.usage_id)
    return (
        f'{{"event_id":"{natural_event_id_str("used:" + usage_id)}","schema_version":1,'
        f'"occurred_at":"{instant_str(call.occurred_at)}","correlation_id":null,'
        f'"event_type":"FreeMinutesUsed","usage_id":"{usage_id}",'
        f'"customer_id":{json_text(call.customer_id)},"did":{did},'
        f'"destination":{json_text(call.destination)},'
        f'"duration_seconds":{call.duration_seconds},"covered_seconds":{c.covered_seconds},'
        f'"amount":"{money_str(call.amount)}","credit":"{money_str(credit)}",'
        f'"currency":{json_text(call.currency)},"grants":[{uses}]}}'
    ).encode()


def encoded_returned(m: FreeMinutesReturned) -> bytes:
    """FreeMinutesReturned's bytes, as its `to_json()` gives them, from the model's fields
    (built and checked by reversals.py): a third of the model's cost per reversal."""
    did = "null" if m.did is None else json_text(m.did)
    correlation = "null" if m.correlation_id is None else json_text(m.correlation_id)
    lines = ",".join(
        f'{{"grant_id":"{g.grant_id}","seconds_returned":{g.seconds_returned},'
        f'"seconds_lost":{g.seconds_lost},"remaining_seconds":{g.remaining_seconds}}}'
        for g in m.grants
    )
    return (
        f'{{"event_id":"{m.event_id}","schema_version":1,'
        f'"occurred_at":"{instant_str(m.occurred_at)}","correlation_id":{correlation},'
        f'"event_type":"FreeMinutesReturned","usage_id":"{m.usage_id}",'
        f'"reversal_id":"{m.reversal_id}","customer_id":{json_text(m.customer_id)},'
        f'"did":{did},"credit":"{money_str(m.credit)}","currency":{json_text(m.currency)},'
        f'"grants":[{lines}]}}'
    ).encode()


@lru_cache(maxsize=1024)
def _instant(value: datetime) -> str:
    return instant_str(value)


def encode_balance(event: BalanceChanged) -> tuple[str, bytes]:
    return "AllowanceBalance", encoded_balance(event.grant, _instant(event.made_at))


def encode_used(event: MinutesUsed) -> tuple[str, bytes]:
    return "FreeMinutesUsed", encoded_used(event.coverage, event.credit)


def encode_returned(event: FreeMinutesReturned) -> tuple[str, bytes]:
    return "FreeMinutesReturned", encoded_returned(event)


ENCODERS: dict[type, Encoder] = {
    BalanceChanged: encode_balance,
    MinutesUsed: encode_used,
    FreeMinutesReturned: encode_returned,
}
"""The encoder of each of the allowance's domain events (pkgshared.uow.encoded)."""

Route = Callable[[Any], tuple[str, str]]

ROUTES: dict[type, Route] = {
    MinutesUsed: lambda e: (topics.FREE_MINUTES_USED, e.coverage.call.customer_id),
    BalanceChanged: lambda e: (topics.ALLOWANCE_BALANCES, _grant_head(e.grant)[0]),
    FreeMinutesReturned: lambda e: (topics.FREE_MINUTES_USED, e.customer_id),
    AllowanceThresholdReached: lambda e: (topics.ALLOWANCE_ALERTS, e.customer_id),
    # The allowance dead-letters calls and reversals only (records it cannot read, the
    # chassis does).
    DeadLetter: lambda e: (topics.dlq_topic(topics.USAGE_RATED), e.key or ""),
}
"""The topic and key of every event the allowance emits, by its type (docs/contract.md §3 and §6):
handlers emit an event and nothing else."""


def route(event: object) -> tuple[str, str]:
    """(topic, key) of `event`; a type not in ROUTES is a programming error."""
    return ROUTES[type(event)](event)
