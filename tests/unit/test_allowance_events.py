"""The allowance's events: the bytes written without the models are exactly what the
contract's models give for the same values, and read back as valid messages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from allowance.adapters.events import encoded_balance, encoded_returned, encoded_used
from allowance.domain.model import Call, Grant, cover
from pkgcontract import topics
from pkgcontract.messages import (
    AllowanceBalance,
    FreeMinutesReturned,
    FreeMinutesUsed,
    GrantReturn,
    GrantUse,
    instant_str,
    natural_event_id,
    read,
)

MADE_AT = datetime(2026, 2, 1, 0, 0, 3, tzinfo=UTC)
customers = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=64
).filter(lambda s: s.strip() == s and s)
dids = st.one_of(st.none(), st.from_regex(r"[0-9]{6,15}", fullmatch=True))
prefixes = st.lists(st.from_regex(r"[0-9]{1,15}", fullmatch=True), max_size=4)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(
    customer=customers,
    did=dids,
    call_did=dids,
    prefix_list=prefixes,
    start=instants,
    granted=st.integers(1, 10**7),
    duration=st.integers(0, 10**6),
    amount=st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False),
    status=st.sampled_from(["active", "expired"]),
    topup=st.booleans(),
    returned=st.integers(0, 10**7),
    rolled=st.integers(0, 10**7),
    carried=st.booleans(),
)
def test_encoded_events_are_the_models_bytes(
    customer: str,
    did: str | None,
    call_did: str | None,
    prefix_list: list[str],
    start: datetime,
    granted: int,
    duration: int,
    amount: Decimal,
    status: str,
    topup: bool,
    returned: int,
    rolled: int,
    carried: bool,
) -> None:
    grant = Grant(
        grant_id=uuid.uuid4(),
        customer_id=customer,
        did=did,
        assignment_id=None if topup else uuid.uuid4(),
        topup_id=uuid.uuid4() if topup else None,
        destination_prefixes=tuple(prefix_list),
        valid_from=start,
        valid_until=start + timedelta(days=30),
        granted_seconds=granted,
        status=status,
        returned_seconds=returned,
        rolled_over_seconds=rolled % (granted + 1),
        rolled_over_from=uuid.uuid4() if carried else None,
    )
    call = Call(
        uuid.uuid4(),
        customer,
        call_did if did is None else did,
        ((prefix_list[0] if prefix_list else "") + "1234567")[:15],
        start + timedelta(seconds=5),
        duration,
        amount,
        "GBP",
    )
    coverage = cover(call, [grant])
    for g in (grant, *(u.grant for u in coverage.uses)):
        key = f"balance:{g.grant_id}:{g.used_seconds}:{g.status}"
        if g.returned_seconds:
            key = f"balance:{g.grant_id}:{g.used_seconds}:r{g.returned_seconds}:{g.status}"
        model = AllowanceBalance(
            event_id=natural_event_id(key),
            occurred_at=MADE_AT,
            grant_id=g.grant_id,
            customer_id=g.customer_id,
            did=g.did,
            assignment_id=g.assignment_id,
            topup_id=g.topup_id,
            destination_prefixes=list(g.destination_prefixes),
            valid_from=g.valid_from,
            valid_until=g.valid_until,
            granted_seconds=g.granted_seconds,
            used_seconds=g.used_seconds,
            remaining_seconds=g.remaining_seconds,
            returned_seconds=g.returned_seconds,
            rolled_over_from=g.rolled_over_from,
            rolled_over_seconds=g.rolled_over_seconds,
            status=g.status,
        )
        written = encoded_balance(g, instant_str(MADE_AT))
        assert written == model.model_dump_json().encode()
        assert read(topics.ALLOWANCE_BALANCES, written) == model
    if coverage.uses:
        model_used = FreeMinutesUsed(
            event_id=natural_event_id(f"used:{call.usage_id}"),
            usage_id=call.usage_id,
            customer_id=call.customer_id,
            did=call.did,
            destination=call.destination,
            occurred_at=call.occurred_at,
            duration_seconds=call.duration_seconds,
            covered_seconds=coverage.covered_seconds,
            amount=call.amount,
            credit=coverage.credit,
            currency=call.currency,
            grants=[
                GrantUse(
                    grant_id=u.grant.grant_id,
                    seconds=u.seconds,
                    remaining_seconds=u.grant.remaining_seconds,
                )
                for u in coverage.uses
            ],
        )
        assert encoded_used(coverage) == model_used.to_json()
        assert read(topics.FREE_MINUTES_USED, encoded_used(coverage)) == model_used


@given(
    customer=customers,
    did=dids,
    credit=st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False),
    at=instants,
    correlation=st.one_of(st.none(), customers),
    lines=st.lists(
        st.tuples(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7)),
        min_size=1,
        max_size=4,
    ),
)
def test_encoded_returned_is_the_models_bytes(
    customer: str,
    did: str | None,
    credit: Decimal,
    at: datetime,
    correlation: str | None,
    lines: list[tuple[int, int, int]],
) -> None:
    usage_id = uuid.uuid4()
    model = FreeMinutesReturned(
        event_id=natural_event_id(f"returned:{usage_id}"),
        occurred_at=at,
        correlation_id=correlation,
        usage_id=usage_id,
        reversal_id=uuid.uuid4(),
        customer_id=customer,
        did=did,
        credit=credit,
        currency="GBP",
        grants=[
            GrantReturn(
                grant_id=uuid.uuid4(),
                seconds_returned=returned,
                seconds_lost=lost,
                remaining_seconds=remaining,
            )
            for returned, lost, remaining in lines
        ],
    )
    written = encoded_returned(model)
    assert written == model.to_json()
    assert read(topics.FREE_MINUTES_USED, written) == model
