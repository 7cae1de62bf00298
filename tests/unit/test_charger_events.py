"""The charger's events (built without re-validation) read back as valid contract messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from charger.domain.charges import due_charges
from charger.service_layer.events import charged_event, declined_event
from pkgshared import topics
from pkgshared.messages import ChargeDeclined, CreditDebited, FreeMinutesGranted, read

from .test_charges import assignment, version

MADE_AT = datetime(2026, 2, 1, 0, 0, 3, tzinfo=UTC)


def test_debits_grants_and_declines_read_back_valid() -> None:
    a = assignment(did="441234567890")
    due = due_charges(a, [version(cost=Decimal("1.5"))], datetime(2026, 2, 1, tzinfo=UTC))
    debit, grant = due.charges

    raw = charged_event(debit, "scheduled", MADE_AT).to_json()
    parsed = read(topics.CREDIT_DEBITED, raw)
    assert isinstance(parsed, CreditDebited)
    body = json.loads(raw)
    assert body["event_type"] == "CreditDebited" and body["schema_version"] == 1
    assert body["amount"] == "10.00" and body["cost"] == "3.0"
    assert body["occurred_at"] == "2026-02-01T00:00:03Z" and body["did"] == "441234567890"
    assert parsed.debit_id == parsed.event_id

    raw = charged_event(grant, "scheduled", MADE_AT).to_json()
    parsed_grant = read(topics.FREE_MINUTES_GRANTED, raw)
    assert isinstance(parsed_grant, FreeMinutesGranted)
    assert json.loads(raw)["valid_from"] == "2026-01-15T00:00:00Z"

    raw = declined_event(debit, MADE_AT).to_json()
    declined = read(topics.CHARGER_EVENTS, raw)
    assert isinstance(declined, ChargeDeclined) and declined.reason == "spend_limit_exceeded"
