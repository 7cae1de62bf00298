"""What the allowance's decisions cause, as domain values: the unit of work takes them and its
adapter writes the contract's bytes (allowance.adapters.events)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from allowance.domain.model import Coverage, Grant


class BalanceChanged(NamedTuple):
    """A grant as it is now: AllowanceBalance."""

    grant: Grant
    made_at: datetime


class MinutesUsed(NamedTuple):
    """A call free minutes covered: FreeMinutesUsed."""

    coverage: Coverage
    credit: Decimal | None = None  # the coverage's credit when the handler has it already


AllowanceEvent = BalanceChanged | MinutesUsed
