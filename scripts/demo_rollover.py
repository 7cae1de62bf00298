"""The demo's rollover and reversal (docs/contract.md §6 Rollover, Reversal), for scripts/demo.py.

A daily package of 10 free minutes to 44 whose unused minutes roll over (50 % for 7 days),
assigned to a customer of its own for the three days before the demo's tick. The tick grants
the three days and, as they have passed, expires them: each carries 300 s into a rollover
grant that is still valid. A 400 s call to 44 then uses the earliest of them (300 s) and 100 s
of the next; a UsageReversed of the call gives the 400 s back to those grants and takes the
credit back (FreeMinutesReturned)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from pkgcontract import topics
from pkgtools.topic_io import TopicReader

Produce = Callable[[str, list[dict[str, object]], str], Awaitable[None]]


def _command(event_type: str, **fields: object) -> dict[str, object]:
    return {"event_type": event_type, "event_id": str(uuid.uuid4()), **fields}


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class RolloverDemo:
    def __init__(self, run: str, tick_at: datetime) -> None:
        self.customer = f"demo-rollover-{run}"
        day = tick_at.date()
        self.tick_at = tick_at
        self.package = _command(
            "DefinePackage",
            package_id=f"uk-daily-{run}",
            name="UK 10 minutes a day, half rolls over for a week",
            kind="free_minutes",
            retail="0.10",
            currency="GBP",
            frequency="daily",
            frequency_match=[],
            free_minutes=10,
            destination_prefixes=["44"],
            rollover_percent=50,
            rollover_days=7,
        )
        self.assignment = _command(
            "AssignPackage",
            assignment_id=str(uuid.uuid4()),
            customer_id=self.customer,
            package_id=self.package["package_id"],
            quantity=1,
            start_date=(day - timedelta(days=3)).isoformat(),
            end_date=(day - timedelta(days=1)).isoformat(),
        )

    async def show(self, reader: TopicReader, produce: Produce) -> None:
        """After the tick: the rollover grants, a call that uses them, its reversal."""
        rolled = await reader.wait_for(
            lambda rs: len(self._rollover_balances(rs)) >= 3,
            timeout=60,
            what="the three rollover grants' balances",
        )
        grants = self._rollover_balances(rolled)
        print(
            f"demo: rollover: {self.package['package_id']} (10 free minutes a day, 50 % carried "
            f"for 7 days) for {self.customer}, three days gone unused:"
        )
        for b in sorted(grants.values(), key=lambda b: b["valid_until"]):
            print(
                f"  AllowanceBalance   grant {b['grant_id'][:8]} {b['valid_from'][:10]} to "
                f"{b['valid_until'][:10]}: {b['granted_seconds']} s carried from grant "
                f"{b['rolled_over_from'][:8]} ({b['status']})"
            )
        call = _command(
            "UsageRated",
            usage_id=str(uuid.uuid4()),
            customer_id=self.customer,
            amount="0.800000",
            currency="GBP",
            occurred_at=_instant(self.tick_at - timedelta(seconds=60)),
            destination="442071234567",
            duration_seconds=400,
        )
        await produce(topics.USAGE_RATED, [call], self.customer)
        used = (
            await reader.wait_count(
                1, timeout=60, event_type="FreeMinutesUsed", usage_id=call["usage_id"]
            )
        )[0].json()
        parts = ", ".join(f"{g['seconds']} s from {g['grant_id'][:8]}" for g in used["grants"])
        print(
            f"demo: a 400 s call to 44...: FreeMinutesUsed {parts}; "
            f"{used['credit']} {used['currency']} back"
        )
        reversal = _command(
            "UsageReversed",
            reversal_id=str(uuid.uuid4()),
            usage_id=call["usage_id"],
            customer_id=self.customer,
        )
        await produce(topics.USAGE_RATED, [reversal], self.customer)
        back = (
            await reader.wait_count(
                1, timeout=60, event_type="FreeMinutesReturned", usage_id=call["usage_id"]
            )
        )[0].json()
        parts = ", ".join(
            f"{g['seconds_returned']} s back to {g['grant_id'][:8]}"
            + (f" ({g['seconds_lost']} s lost: expired)" if g["seconds_lost"] else "")
            for g in back["grants"]
        )
        print(
            f"demo: the rater withdrew it (UsageReversed): FreeMinutesReturned {parts}; "
            f"the credit of {back['credit']} {back['currency']} taken back"
        )

    def _rollover_balances(self, records: list[Any]) -> dict[str, dict[str, Any]]:
        out = {}
        for r in records:
            try:
                b = r.json()
            except ValueError:
                continue
            if (
                isinstance(b, dict)
                and b.get("event_type") == "AllowanceBalance"
                and b.get("customer_id") == self.customer
                and b.get("rolled_over_from")
            ):
                out[b["grant_id"]] = b
        return out
