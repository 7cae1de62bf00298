"""The contract's messages a charge run writes besides its charges: a hold (ChargesHeld), a
notice (ChargeUpcoming), a tick settled (ChargesSettled) and RunPackage's report (its lines,
totals and parts). Built from domain values; the handlers emit them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from charger.domain.catch_up import Plan
from charger.domain.charge_run import Recorded
from charger.domain.charges import Charge
from charger.domain.decisions import Outcome
from charger.domain.model import Assignment
from charger.domain.notices import Notice
from pkgcontract.messages import (
    ChargesHeld,
    ChargesSettled,
    ChargeUpcoming,
    PackageRunReported,
    RunLine,
    RunPackage,
    natural_event_id,
)

REPORT_PART_LINES = 2000
"""Most lines in one PackageRunReported (CONTRACT.md §4): a larger report is sent in parts."""


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
        reason=f"failed: {error}"[:500],
    )


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


def run_lines(
    charges: list[Charge],
    existing: dict[str, Recorded],
    decisions: list[tuple[Charge, Outcome]],
    simulate: bool,
) -> list[RunLine]:
    """One line per charge of a run: those made before as they were made (a period charged
    before its end date moved keeps the period_end, amount and minutes it was charged for),
    the others as decided."""
    lines: list[RunLine] = []
    for c in charges:
        if c.key in existing:
            was = existing[c.key]
            shown = "declined" if was.status == "declined" else "already_charged"
            minutes = was.minutes if c.kind == "grant" else None
            lines.append(_line(c, shown, was.amount, was.period_end or c.period.end, minutes))
    made = "would_charge" if simulate else "charged"
    status = {"charge": made, "covered": made, "decline": "declined", "skip": "would_charge"}
    for c, outcome in decisions:
        lines.append(_line(c, status[outcome], c.amount, c.period.end, c.minutes))
    lines.sort(key=lambda line: (line.period_start, str(line.assignment_id), line.kind == "grant"))
    return lines


def _line(
    c: Charge, status: str, amount: Decimal | None, period_end: date, minutes: int | None
) -> RunLine:
    return RunLine(
        assignment_id=c.assignment.assignment_id,
        package_id=c.assignment.package_id,
        kind=c.kind,
        period_start=c.period.start,
        period_end=period_end,
        amount=amount if c.is_debit else None,
        currency=c.version.currency,
        minutes=minutes,
        status=status,
    )


def run_totals(lines: list[RunLine]) -> dict[str, Decimal]:
    """What a run charged or would charge, by currency."""
    totals: dict[str, Decimal] = {}
    for line in lines:
        if line.status in ("charged", "would_charge") and line.amount is not None:
            assert line.currency is not None
            totals[line.currency] = totals.get(line.currency, Decimal(0)) + line.amount
    return totals


def report_parts(
    cmd: RunPackage, lines: list[RunLine], totals: dict[str, Decimal]
) -> list[PackageRunReported]:
    """The report of a run, in parts of at most REPORT_PART_LINES lines, each with the full
    totals; part 1's event id is the one a report in one part always had."""
    chunks = [
        lines[i : i + REPORT_PART_LINES] for i in range(0, len(lines), REPORT_PART_LINES)
    ] or [[]]
    return [
        PackageRunReported(
            event_id=natural_event_id(
                f"report:{cmd.event_id}" if n == 1 else f"report:{cmd.event_id}:{n}"
            ),
            request_id=cmd.request_id,
            customer_id=cmd.customer_id,
            date=cmd.date,
            simulate=cmd.simulate,
            lines=chunk,
            totals=totals,
            part=n,
            parts=len(chunks),
            correlation_id=cmd.correlation_id,
        )
        for n, chunk in enumerate(chunks, start=1)
    ]
