"""What a charge run leaves behind, decided without I/O: the ledger rows and events of the
outcomes `decisions.decide` chose, the progress a tick leaves on each assignment, and the tally.
The service layer (`charging.charge_batch`) loads, calls these and stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, Protocol, TypeVar
from uuid import UUID

from charger.domain.catch_up import Plan, Policy
from charger.domain.charges import Charge
from charger.domain.decisions import Outcome
from charger.domain.events import ChargeEvent, DebitDeclined, DebitMade, GrantMade, Reason
from charger.domain.model import PackageVersion
from charger.domain.notices import wake_at


class LedgerRow(NamedTuple):
    """A charge the ledger records (made, declined or covered); a named tuple: a million are
    made per big tick. The last five, kept since proration (docs/contract.md §7), are what a credit
    of the debit needs."""

    key: str
    customer_id: str
    assignment_id: UUID | None  # None: a top-up's
    kind: str
    status: str
    period_start: date
    amount: Decimal | None
    currency: str | None
    minutes: int | None
    reason: str
    period_end: date | None = None
    charged_days: int | None = None
    period_days: int | None = None
    cost: Decimal | None = None
    package_version: int | None = None
    topup_id: UUID | None = None


class Recorded(NamedTuple):
    """What the ledger holds of a charge already recorded, as a report shows it: as it was
    made (its period_end, amount and minutes then), whatever the assignment has become."""

    status: str
    amount: Decimal | None
    period_end: date | None = None  # None: recorded before period ends were kept
    minutes: int | None = None


Progress = tuple[UUID, date | None, bool, datetime | None, date | None, str | None]
"""What a tick's planning leaves on an assignment: (assignment_id, ticked_through, setup_done,
next_due_at, noticed_through, hold). A plain tuple: a million are made per big tick."""


@dataclass
class Made:
    charged: int = 0
    declined: int = 0
    grants: int = 0
    notices: int = 0
    held: int = 0

    def add(self, other: Made) -> None:
        self.charged += other.charged
        self.declined += other.declined
        self.grants += other.grants
        self.notices += other.notices
        self.held += other.held

    def log_fields(self) -> dict[str, int]:
        return {
            "debits": self.charged,
            "grants": self.grants,
            "declined": self.declined,
            "notices": self.notices,
            "held": self.held,
        }


_STATUS = {"charge": "charged", "decline": "declined", "covered": "covered"}


@dataclass
class Outcomes:
    """The rows to record and the events to publish for a list of decisions."""

    rows: list[LedgerRow] = field(default_factory=list)
    events: list[ChargeEvent] = field(default_factory=list)


def outcomes(
    decisions: list[tuple[Charge, Outcome]],
    reason: Reason,
    made_at: datetime,
    made: Made,
    correlation_id: str | None = None,
) -> Outcomes:
    """Ledger rows for every decision but "skip"; an event for each charge made and each
    debit declined; `made` counts them. `made_at`: the events' occurred_at (metadata)."""
    out = Outcomes()
    rows, events = out.rows, out.events
    for charge, outcome in decisions:
        if outcome == "skip":
            continue
        a, period = charge.assignment, charge.period
        rows.append(
            LedgerRow(
                charge.key,
                a.customer_id,
                a.assignment_id,
                charge.kind,
                _STATUS[outcome],
                period.start,
                charge.amount,
                charge.version.currency,
                charge.minutes,
                reason,
                period.end,
                period.charged_days,
                period.period_days,
                charge.cost,
                charge.version.version,
            )
        )
        if outcome == "charge":
            if charge.kind == "grant":
                events.append(GrantMade(charge, reason, made_at, correlation_id))
                made.grants += 1
            else:
                events.append(DebitMade(charge, reason, made_at, correlation_id))
                made.charged += 1
        elif outcome == "decline" and charge.kind != "grant":
            events.append(DebitDeclined(charge, made_at, correlation_id))
            made.declined += 1
    return out


class Left(NamedTuple):
    """What a tick leaves on one assignment it was not holding: its progress, when it is due
    next, and whether a released catch-up has just caught up."""

    progress: Progress
    next_at: datetime | None
    caught_up: bool


def left_by(
    p: Plan,
    versions: list[PackageVersion],
    at: datetime,
    noticed_through: date | None,
    policy: Policy,
    noticing: bool,
) -> Left:
    """The progress of a plan that was not held (`noticed_through`: after this tick's
    notices). A released assignment that caught up goes back under the catch-up limit."""
    a = p.tracked.assignment
    next_at = wake_at(
        a, versions, p.through, p.setup_done, noticed_through, policy.notice_days, noticing
    )
    hold = p.hold
    caught_up = hold == "released" and (next_at is None or next_at > at)
    if caught_up:
        hold = None
    return Left(
        (a.assignment_id, p.through, p.setup_done, next_at, noticed_through, hold),
        next_at,
        caught_up,
    )


def held_progress(p: Plan) -> Progress:
    return (p.tracked.assignment.assignment_id, p.through, p.setup_done, None, None, "held")


class _Tick(Protocol):
    @property
    def at(self) -> datetime: ...


T = TypeVar("T", bound=_Tick)


def latest_tick(ticks: list[T]) -> T:
    """Of ticks queued together, the one to handle: handling only the latest charges the same
    periods in the same order as handling each (docs/contract.md §4 ChargesSettled)."""
    latest = ticks[0]
    for tick in ticks[1:]:
        if tick.at >= latest.at:
            latest = tick
    return latest
