"""What the charger's decisions cause, as domain values: the unit of work takes them and its
adapter writes the contract's bytes (charger.adapters.events). Named tuples: a million are
made per big tick."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

from charger.domain.charges import Charge

Reason = Literal["scheduled", "run_package"]


class DebitMade(NamedTuple):
    """A debit made: CreditDebited."""

    charge: Charge
    reason: Reason
    made_at: datetime
    correlation_id: str | None = None


class GrantMade(NamedTuple):
    """Free minutes granted: FreeMinutesGranted."""

    charge: Charge
    reason: Reason
    made_at: datetime
    correlation_id: str | None = None


class DebitDeclined(NamedTuple):
    """A debit the spend limit declined: ChargeDeclined."""

    charge: Charge
    made_at: datetime
    correlation_id: str | None = None


ChargeEvent = DebitMade | GrantMade | DebitDeclined
