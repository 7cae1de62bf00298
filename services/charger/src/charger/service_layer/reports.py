"""The contract's messages a charge run writes besides its charges: a hold (ChargesHeld), a
notice (ChargeUpcoming), a tick settled (ChargesSettled) and RunPackage's report (its lines,
held lines, totals and parts, built a piece at a time). Built from domain values; the handlers
emit them."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple
from uuid import UUID

from charger.domain.catch_up import Plan
from charger.domain.charge_run import Recorded
from charger.domain.charges import Charge
from charger.domain.decisions import Outcome
from charger.domain.model import Assignment
from charger.domain.notices import Notice
from charger.service_layer.run_charges import Held
from pkgcontract import money
from pkgcontract.messages import (
    ChargesHeld,
    ChargesSettled,
    ChargeUpcoming,
    PackageRunReported,
    RunLine,
    RunPackage,
    natural_event_id,
)
from pkgshared.pacing import breathe

REPORT_PART_LINES = 2000
"""Most lines in one PackageRunReported (docs/contract.md §4): a larger report is sent in parts."""


def held(p: Plan, tick_id: UUID, made_at: datetime) -> ChargesHeld:
    """An assignment held over the catch-up limit."""
    assert p.held is not None
    count, first, last = p.held
    a = p.tracked.assignment
    return ChargesHeld(
        event_id=natural_event_id(f"held:{a.assignment_id}:{first.isoformat()}"),
        occurred_at=made_at,
        customer_id=a.customer_id,
        assignment_id=a.assignment_id,
        package_id=a.package_id,
        tick_id=tick_id,
        count=count,
        first_period_start=first,
        last_period_start=last,
    )


def held_failing(
    customer_id: str,
    assignment_id: UUID,
    package_id: str,
    tick_id: UUID,
    due: tuple[int, date | None, date | None],
    next_start: date,
    error: str,
    made_at: datetime,
) -> ChargesHeld:
    """An assignment held because its charges fail on every retry (reason "failed: …")."""
    count, first, last = due
    return ChargesHeld(
        event_id=natural_event_id(f"held:{assignment_id}:failed:{tick_id}"),
        occurred_at=made_at,
        customer_id=customer_id,
        assignment_id=assignment_id,
        package_id=package_id,
        tick_id=tick_id,
        count=max(count, 1),
        first_period_start=first or next_start,
        last_period_start=last or next_start,
        reason=failed_reason(error),
    )


def failed_reason(error: str) -> str:
    """A ChargesHeld's reason for charges that fail on every retry (at most 500 characters)."""
    return f"failed: {error}"[:500]


def upcoming(a: Assignment, n: Notice, exceeds: bool, made_at: datetime) -> ChargeUpcoming:
    return ChargeUpcoming(
        event_id=natural_event_id(n.key),
        occurred_at=made_at,
        customer_id=a.customer_id,
        did=a.did,
        assignment_id=a.assignment_id,
        package_id=a.package_id,
        package_version=n.version.version,
        amount=n.amount,
        currency=n.version.currency,
        period_start=n.period.start,
        period_end=n.period.end,
        due_at=n.due_at,
        exceeds_spend_limit=exceeds,
    )


def settled(tick_id: UUID, at: datetime) -> ChargesSettled:
    return ChargesSettled(event_id=natural_event_id(f"settled:{tick_id}"), tick_id=tick_id, at=at)


class Line(NamedTuple):
    """A line of a run's report before it is a RunLine (those are made a part at a time)."""

    charge: Charge  # the charge; of a held line, the first of its charges
    status: str
    amount: Decimal | None
    period_end: date  # as made, for a charge made before; of a held line, its last charge's
    minutes: int | None  # likewise
    due: int | None = None  # of a held line: its charges due (its count)


def _in_assignment(line: Line) -> tuple[date, bool]:
    return line.charge.period.start, line.charge.kind == "grant"


def _in_report(line: Line) -> tuple[date, str, bool]:
    c = line.charge
    return c.period.start, str(c.assignment.assignment_id), c.kind == "grant"


async def run_lines(
    charges: list[Charge],
    existing: dict[str, Recorded],
    decisions: list[tuple[Charge, Outcome]],
    simulate: bool,
    held: list[Held],
) -> list[Line]:
    """One line per charge of a run and one per held assignment, in (period_start,
    assignment_id, debit before grant) order; sorted an assignment at a time, then merged,
    with breaths between (pkgshared.pacing). A charge made before is shown as it was made (a
    period charged before its end date moved keeps the period_end, amount and minutes it was
    charged for), the others as decided."""
    of: dict[UUID, list[Line]] = {}
    for c in charges:
        if c.key in existing:
            was = existing[c.key]
            shown = "declined" if was.status == "declined" else "already_charged"
            minutes = was.minutes if c.kind == "grant" else None
            line = Line(c, shown, was.amount, was.period_end or c.period.end, minutes)
            of.setdefault(c.assignment.assignment_id, []).append(line)
            await breathe()
    made = "would_charge" if simulate else "charged"
    statuses = {"charge": made, "covered": made, "decline": "declined", "skip": "would_charge"}
    for c, outcome in decisions:
        line = Line(c, statuses[outcome], c.amount, c.period.end, c.minutes)
        of.setdefault(c.assignment.assignment_id, []).append(line)
        await breathe()
    for h in held:
        line = Line(h.first, "held", None, h.last.period.end, None, h.count)
        of.setdefault(h.first.assignment.assignment_id, []).append(line)
    for group in of.values():
        group.sort(key=_in_assignment)
        await breathe()
    lines: list[Line] = []
    for line in heapq.merge(*of.values(), key=_in_report):
        lines.append(line)
        await breathe()
    return lines


def _run_line(line: Line) -> RunLine:
    c = line.charge
    return RunLine(
        assignment_id=c.assignment.assignment_id,
        package_id=c.assignment.package_id,
        kind=c.kind,
        period_start=c.period.start,
        period_end=line.period_end,
        amount=line.amount if c.is_debit else None,
        currency=c.version.currency,
        minutes=line.minutes,
        status=line.status,
        count=line.due,
    )


async def run_totals(lines: list[Line]) -> dict[str, Decimal]:
    """What a run charged or would charge, by currency."""
    totals: dict[str, Decimal] = {}
    for line in lines:
        made = line.status in ("charged", "would_charge") and line.charge.is_debit
        if made and line.amount is not None:
            currency = line.charge.version.currency
            totals[currency] = money.plus(totals.get(currency, money.ZERO), line.amount)
        await breathe()
    return totals


def report_parts(
    cmd: RunPackage, lines: list[Line], totals: dict[str, Decimal]
) -> Iterator[PackageRunReported]:
    """The report of a run, in parts of at most REPORT_PART_LINES lines, each with the full
    totals; part 1's event id is the one a report in one part always had. A part's lines
    are made when it is (the caller breathes between parts)."""
    parts = max(1, -(-len(lines) // REPORT_PART_LINES))
    for n in range(1, parts + 1):
        chunk = lines[(n - 1) * REPORT_PART_LINES : n * REPORT_PART_LINES]
        yield PackageRunReported(
            event_id=natural_event_id(
                f"report:{cmd.event_id}" if n == 1 else f"report:{cmd.event_id}:{n}"
            ),
            request_id=cmd.request_id,
            customer_id=cmd.customer_id,
            date=cmd.date,
            simulate=cmd.simulate,
            lines=[_run_line(line) for line in chunk],
            totals=totals,
            part=n,
            parts=parts,
            correlation_id=cmd.correlation_id,
        )
