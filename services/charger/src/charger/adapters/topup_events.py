"""The contract's events for top-ups (docs/contract.md §4 GrantMinutes): CreditDebited kind
"topup", FreeMinutesGranted with its topup_id, ChargeDeclined. Rare (one per top-up): written
through the models in pkgcontract.messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from charger.domain.topups import TopUpDebited, TopUpDeclined, TopUpGranted
from pkgcontract.messages import (
    ChargeDeclined,
    CreditDebited,
    FreeMinutesGranted,
    Message,
    natural_event_id,
)
from pkgshared.uow import Encoder


def topup_debited(e: TopUpDebited) -> CreditDebited:
    t = e.topup
    assert t.retail is not None and t.currency is not None
    event_id = natural_event_id(t.debit_key)
    return CreditDebited(
        event_id=event_id,
        occurred_at=e.made_at,
        correlation_id=t.correlation_id,
        debit_id=event_id,
        customer_id=t.customer_id,
        did=t.did,
        assignment_id=None,
        package_id=None,
        package_version=None,
        amount=t.retail,
        cost=None,
        currency=t.currency,
        period_start=t.day,
        period_end=t.day,
        kind="topup",
        reason="scheduled",
        topup_id=t.topup_id,
    )


def topup_granted(e: TopUpGranted) -> FreeMinutesGranted:
    t = e.topup
    event_id = natural_event_id(t.grant_key)
    return FreeMinutesGranted(
        event_id=event_id,
        occurred_at=e.made_at,
        correlation_id=t.correlation_id,
        grant_id=event_id,
        customer_id=t.customer_id,
        did=t.did,
        assignment_id=None,
        package_id=None,
        minutes=t.minutes,
        destination_prefixes=list(t.destination_prefixes),
        valid_from=t.valid_from,
        valid_until=t.valid_until,
        notify_at_percent=list(t.notify_at_percent),
        rollover_percent=0,
        rollover_days=None,
        topup_id=t.topup_id,
    )


def topup_declined(e: TopUpDeclined) -> ChargeDeclined:
    t = e.topup
    assert t.retail is not None and t.currency is not None
    return ChargeDeclined(
        event_id=natural_event_id(t.declined_key),
        occurred_at=e.made_at,
        correlation_id=t.correlation_id,
        customer_id=t.customer_id,
        assignment_id=None,
        kind="topup",
        period_start=t.day,
        amount=t.retail,
        currency=t.currency,
        reason="spend_limit_exceeded",
        topup_id=t.topup_id,
    )


def _encoder(build: Callable[[Any], Message]) -> Encoder:
    def encode(event: object) -> tuple[str, bytes]:
        message = build(event)
        return message.TYPE, message.to_json()

    return encode


TOPUP_ENCODERS: dict[type, Encoder] = {
    TopUpDebited: _encoder(topup_debited),
    TopUpGranted: _encoder(topup_granted),
    TopUpDeclined: _encoder(topup_declined),
}
"""The encoder of each top-up event (pkgshared.uow.encoded)."""
