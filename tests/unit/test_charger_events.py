"""The charger's events: a made charge's bytes, written without the models, are exactly what the
contract's models give for the same values; every event reads back as a valid message."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from charger.adapters.events import declined_event, encoded_charge
from charger.domain.charges import Charge, due_charges
from charger.domain.schedule import Period
from pkgcontract import topics
from pkgcontract.messages import (
    ChargeDeclined,
    CreditDebited,
    FreeMinutesGranted,
    instant_str,
    natural_event_id,
    natural_event_id_str,
    read,
)

from .test_charges import assignment, version

MADE_AT = datetime(2026, 2, 1, 0, 0, 3, tzinfo=UTC)


def model_bytes(
    charge: Charge, reason: str, made_at: datetime, correlation_id: str | None = None
) -> bytes:
    """The same event built and validated through its pydantic model."""
    a = charge.assignment
    event_id = natural_event_id(charge.key)
    common = {
        "event_id": event_id,
        "occurred_at": made_at,
        "correlation_id": correlation_id,
        "customer_id": a.customer_id,
        "did": a.did,
        "assignment_id": a.assignment_id,
        "package_id": a.package_id,
    }
    if charge.kind == "grant":
        return FreeMinutesGranted(
            **common,
            grant_id=event_id,
            minutes=charge.minutes,
            destination_prefixes=list(charge.version.destination_prefixes),
            valid_from=charge.valid_from,
            valid_until=charge.valid_until,
            notify_at_percent=list(charge.version.notify_at_percent),
            rollover_percent=charge.version.rollover_percent,
            rollover_days=charge.version.rollover_days,
        ).to_json()
    return CreditDebited(
        **common,
        debit_id=event_id,
        package_version=charge.version.version,
        amount=charge.amount,
        cost=charge.cost,
        currency=charge.version.currency,
        period_start=charge.period.start,
        period_end=charge.period.end,
        kind=charge.kind,
        reason=reason,
        charged_days=charge.period.charged_days,
        period_days=charge.period.period_days,
    ).to_json()


def test_debits_grants_and_declines_read_back_valid() -> None:
    a = assignment(did="441234567890")
    due = due_charges(a, [version(cost=Decimal("1.5"))], datetime(2026, 2, 1, tzinfo=UTC))
    debit, grant = due.charges

    event_type, raw = encoded_charge(debit, "scheduled", instant_str(MADE_AT))
    parsed = read(topics.CREDIT_DEBITED, raw)
    assert event_type == "CreditDebited" and isinstance(parsed, CreditDebited)
    body = json.loads(raw)
    assert body["event_type"] == "CreditDebited" and body["schema_version"] == 1
    assert body["amount"] == "10.00" and body["cost"] == "3.0"
    assert body["occurred_at"] == "2026-02-01T00:00:03Z" and body["did"] == "441234567890"
    assert parsed.debit_id == parsed.event_id == natural_event_id(debit.key)
    assert raw == model_bytes(debit, "scheduled", MADE_AT)

    event_type, raw = encoded_charge(grant, "run_package", instant_str(MADE_AT))
    parsed_grant = read(topics.FREE_MINUTES_GRANTED, raw)
    assert event_type == "FreeMinutesGranted" and isinstance(parsed_grant, FreeMinutesGranted)
    assert json.loads(raw)["valid_from"] == "2026-01-15T00:00:00Z"
    assert raw == model_bytes(grant, "run_package", MADE_AT)

    raw = declined_event(debit, MADE_AT).to_json()
    declined = read(topics.CHARGER_EVENTS, raw)
    assert isinstance(declined, ChargeDeclined) and declined.reason == "spend_limit_exceeded"


money = st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False)
# Ids hold no control character (docs/contract.md §2); quotes, backslashes and any other unicode
# still test the encoder's escaping.
text = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=64)


def _period(draw: st.DrawFn, start: date) -> Period:
    """A whole period, or a prorated part of one (docs/contract.md §7)."""
    days = draw(st.integers(1, 366))
    if draw(st.booleans()):
        return Period(start, start + timedelta(days=days))
    charged = draw(st.integers(1, days))
    return Period(start, start + timedelta(days=charged), charged, days)


@st.composite
def charges(draw: st.DrawFn) -> Charge:
    kind = draw(st.sampled_from(["recurring", "setup", "minimum_spend", "grant"]))
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
    valid_from = draw(
        st.datetimes(
            timezones=st.just(UTC), min_value=datetime(2000, 1, 1), max_value=datetime(2998, 12, 31)
        )
    )
    v = version(
        package_id=draw(st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)),
        version=draw(st.integers(1, 10**6)),
        currency=draw(st.from_regex(r"[A-Z]{3}", fullmatch=True)),
        destination_prefixes=tuple(draw(st.lists(st.from_regex(r"[0-9]{1,15}", fullmatch=True)))),
        notify_at_percent=tuple(sorted(draw(st.sets(st.integers(1, 100), max_size=5)))),
        **draw(
            st.just({})
            | st.builds(
                lambda p, d: {"rollover_percent": p, "rollover_days": d},
                st.integers(1, 100),
                st.integers(1, 366),
            )
        ),
    )
    a = assignment(
        assignment_id=draw(st.uuids()),
        customer_id=draw(text),
        did=draw(st.none() | st.from_regex(r"[0-9]{6,15}", fullmatch=True)),
        package_id=v.package_id,
    )
    is_grant = kind == "grant"
    return Charge(
        key=f"{'grant' if is_grant else 'debit'}:{a.assignment_id}:{start.isoformat()}",
        kind=kind,  # type: ignore[arg-type]
        assignment=a,
        version=v,
        period=_period(draw, start),
        amount=None if is_grant else draw(money),
        cost=None if is_grant else draw(st.none() | money),
        minutes=draw(st.integers(1, 10**7)) if is_grant else None,
        auto_decrement_credit=True,
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=draw(st.integers(0, 366))),
    )


@given(
    charge=charges(),
    reason=st.sampled_from(["scheduled", "run_package"]),
    made_at=st.datetimes(
        timezones=st.just(UTC), min_value=datetime(2000, 1, 1), max_value=datetime(2998, 12, 31)
    ),
    correlation_id=st.none() | st.text(max_size=200),
)
def test_written_events_are_the_models_bytes(
    charge: Charge, reason: str, made_at: datetime, correlation_id: str | None
) -> None:
    made = instant_str(made_at)
    _, raw = encoded_charge(charge, reason, made, correlation_id)  # type: ignore[arg-type]
    assert raw == model_bytes(charge, reason, made_at, correlation_id)


@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_natural_event_id_str_is_the_uuid5_string(key: str) -> None:
    assert natural_event_id_str(key) == str(uuid.uuid5(uuid.NAMESPACE_URL, "packages:" + key))
    assert natural_event_id(key) == uuid.uuid5(uuid.NAMESPACE_URL, "packages:" + key)
    assert uuid.UUID(natural_event_id_str(key)).version == 5
