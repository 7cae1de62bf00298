"""What becomes of each new charge (docs/contract.md §5): `decide` walks a customer's new charges in
(period_start, assignment_id) order and marks each debit charged, declined against the monthly
spend limit, skipped or covered.
Pure."""

from __future__ import annotations

from typing import Literal

from charger.domain.charges import Charge
from charger.domain.model import MonthTotals, SpendLimit, exceeds_spend_limit

Outcome = Literal["charge", "decline", "skip", "covered"]
"""charge: make it; decline: spend limit (recorded, ChargeDeclined); skip: not on ticks
(auto_decrement_credit false: left for RunPackage); covered: a minimum-spend period whose spend
met the commitment (recorded as covered, nothing emitted)."""


def decide(
    charges: list[Charge],
    limit: SpendLimit | None,
    totals: MonthTotals,
    *,
    scheduled: bool,
    declined_periods: set[tuple[str, str]] | None = None,
) -> list[tuple[Charge, Outcome]]:
    """Walk new charges in (period_start, assignment_id) order.

    - a debit is skipped on ticks (`scheduled`) when auto_decrement_credit is false;
    - a minimum-spend debit of 0 (the spend covered it) is `covered`;
    - a debit that would take the month's debits in the limit's currency over the limit is
      declined, and so is the grant of the same period (its own: a setup debit's period is
      "setup", never the first period's, though both begin on the start date);
    - `totals` is updated with every debit charged.
    A long run is decided a piece at a time, in order, with the same `totals` and
    `declined_periods` (the periods whose debit was declined) for every piece."""
    if declined_periods is None:
        declined_periods = set()
    out: list[tuple[Charge, Outcome]] = []
    for charge in sorted(charges, key=lambda c: c.order):
        # A period is named as its keys name it (debit:/grant:<assignment>:<period_key>).
        period_id = (str(charge.assignment.assignment_id), charge.period_key)
        if not charge.is_debit:
            out.append((charge, "decline" if period_id in declined_periods else "charge"))
            continue
        assert charge.amount is not None
        if scheduled and not charge.auto_decrement_credit:
            out.append((charge, "skip"))
            continue
        if charge.kind == "minimum_spend" and charge.amount == 0:
            out.append((charge, "covered"))
            continue
        currency = charge.version.currency
        if exceeds_spend_limit(limit, totals, currency, charge.period.start, charge.amount):
            declined_periods.add(period_id)
            out.append((charge, "decline"))
            continue
        totals.add(currency, charge.period.start, charge.amount)
        out.append((charge, "charge"))
    return out
