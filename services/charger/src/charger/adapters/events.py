"""The contract's events for charges the charger made or declined.

A made charge's event (CreditDebited or FreeMinutesGranted) is written straight as JSON bytes:
building the pydantic model and serializing it was a fifth of the charger's time at a million
events per tick. The bytes are those the model's `to_json()` gives for the same values, field
for field in the same order; tests/unit/test_charger_events.py checks that on generated charges
(odd customer ids, money, DIDs, prefixes) against the models in pkgcontract.messages, which stay
the contract's definition. A declined charge is rare and goes through its model."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from charger.adapters.topup_events import TOPUP_ENCODERS
from charger.domain.charges import Charge
from charger.domain.events import DebitDeclined, DebitMade, GrantMade, Reason
from charger.domain.topups import TopUpDebited, TopUpDeclined, TopUpGranted
from pkgcontract import topics
from pkgcontract.messages import (
    ChargeDeclined,
    ChargesHeld,
    ChargesReleased,
    ChargesSettled,
    ChargeUpcoming,
    CreditIssued,
    PackageRunReported,
    TickRefused,
    instant_str,
    json_text,
    money_str,
    natural_event_id,
    natural_event_id_str,
)
from pkgshared.uow import Encoder, Route


@lru_cache(maxsize=4096)
def _instant(value: datetime) -> str:
    return instant_str(value)


def encoded_charge(
    charge: Charge, reason: Reason, made_at: str, correlation_id: str | None = None
) -> tuple[str, bytes]:
    """(event_type, JSON bytes) of the event for a charge made; `made_at` is the events'
    occurred_at, already written as the contract writes instants (`instant_str`);
    `correlation_id`: the RunPackage's that made it."""
    a = charge.assignment
    event_id = natural_event_id_str(charge.key)
    did = "null" if a.did is None else json_text(a.did)
    correlation = "null" if correlation_id is None else json_text(correlation_id)
    head = (
        f'{{"event_id":"{event_id}","schema_version":1,"occurred_at":"{made_at}",'
        f'"correlation_id":{correlation},'
    )
    if charge.kind == "grant":
        prefixes = ",".join(json_text(p) for p in charge.version.destination_prefixes)
        percents = ",".join(str(p) for p in charge.version.notify_at_percent)
        days = charge.version.rollover_days
        rollover_days = "null" if days is None else str(days)
        body = (
            f'"event_type":"FreeMinutesGranted","grant_id":"{event_id}",'
            f'"customer_id":{json_text(a.customer_id)},"did":{did},'
            f'"assignment_id":"{a.assignment_id}","package_id":{json_text(a.package_id)},'
            f'"minutes":{charge.minutes},"destination_prefixes":[{prefixes}],'
            f'"valid_from":"{_instant(charge.valid_from)}",'
            f'"valid_until":"{_instant(charge.valid_until)}",'
            f'"notify_at_percent":[{percents}],'
            f'"rollover_percent":{charge.version.rollover_percent},'
            f'"rollover_days":{rollover_days},"topup_id":null}}'
        )
        return "FreeMinutesGranted", (head + body).encode()
    assert charge.amount is not None
    cost = "null" if charge.cost is None else f'"{money_str(charge.cost)}"'
    period = charge.period
    charged = "null" if period.charged_days is None else str(period.charged_days)
    of_days = "null" if period.period_days is None else str(period.period_days)
    body = (
        f'"event_type":"CreditDebited","debit_id":"{event_id}",'
        f'"customer_id":{json_text(a.customer_id)},"did":{did},'
        f'"assignment_id":"{a.assignment_id}","package_id":{json_text(a.package_id)},'
        f'"package_version":{charge.version.version},"amount":"{money_str(charge.amount)}",'
        f'"cost":{cost},"currency":{json_text(charge.version.currency)},'
        f'"period_start":"{period.start.isoformat()}",'
        f'"period_end":"{period.end.isoformat()}",'
        f'"kind":"{charge.kind}","reason":"{reason}",'
        f'"charged_days":{charged},"period_days":{of_days},"topup_id":null}}'
    )
    return "CreditDebited", (head + body).encode()


def declined_event(
    charge: Charge, made_at: datetime, correlation_id: str | None = None
) -> ChargeDeclined:
    a = charge.assignment
    assert charge.amount is not None and charge.kind != "grant"
    return ChargeDeclined.model_construct(
        event_type="ChargeDeclined",
        event_id=natural_event_id(f"declined:{a.assignment_id}:{charge.period_key}"),
        schema_version=1,
        occurred_at=made_at,
        correlation_id=correlation_id,
        customer_id=a.customer_id,
        assignment_id=a.assignment_id,
        kind=charge.kind,
        period_start=charge.period.start,
        amount=charge.amount,
        currency=charge.version.currency,
        reason="spend_limit_exceeded",
    )


def encode_made(event: DebitMade | GrantMade) -> tuple[str, bytes]:
    return encoded_charge(event.charge, event.reason, _instant(event.made_at), event.correlation_id)


def encode_declined(event: DebitDeclined) -> tuple[str, bytes]:
    declined = declined_event(event.charge, event.made_at, event.correlation_id)
    return declined.TYPE, declined.to_json()


ENCODERS: dict[type, Encoder] = {
    DebitMade: encode_made,
    GrantMade: encode_made,
    DebitDeclined: encode_declined,
    **TOPUP_ENCODERS,
}
"""The encoder of each of the charger's domain events (pkgshared.uow.encoded)."""

CLOCK_KEY = "clock"
"""The key of what concerns the clock rather than a customer (docs/contract.md §3): ChargesSettled
on charger.progress, TickRefused on charger.events."""


def _of_charge(topic: str) -> Route:
    return lambda e: (topic, e.charge.assignment.customer_id)


def _of_topup(topic: str) -> Route:
    return lambda e: (topic, e.topup.customer_id)


def _of_customer(topic: str) -> Route:
    return lambda e: (topic, e.customer_id)


ROUTES: dict[type, Route] = {
    DebitMade: _of_charge(topics.CREDIT_DEBITED),
    GrantMade: _of_charge(topics.FREE_MINUTES_GRANTED),
    DebitDeclined: _of_charge(topics.CHARGER_EVENTS),
    TopUpDebited: _of_topup(topics.CREDIT_DEBITED),
    TopUpGranted: _of_topup(topics.FREE_MINUTES_GRANTED),
    TopUpDeclined: _of_topup(topics.CHARGER_EVENTS),
    CreditIssued: _of_customer(topics.CREDITS_ISSUED),
    ChargesHeld: _of_customer(topics.CHARGER_EVENTS),
    ChargesReleased: _of_customer(topics.CHARGER_EVENTS),
    ChargeUpcoming: _of_customer(topics.CHARGER_EVENTS),
    PackageRunReported: _of_customer(topics.CHARGER_EVENTS),
    TickRefused: lambda e: (topics.CHARGER_EVENTS, CLOCK_KEY),
    ChargesSettled: lambda e: (topics.CHARGER_PROGRESS, CLOCK_KEY),
}
"""The topic and key of every event the charger's handlers emit, by its type (docs/contract.md
§3): handlers emit an event and nothing else. Rejections and dead letters are the chassis's."""


def route(event: object) -> tuple[str, str]:
    """(topic, key) of `event`; a type not in ROUTES is a programming error."""
    return ROUTES[type(event)](event)
