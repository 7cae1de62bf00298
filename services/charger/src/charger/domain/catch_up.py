"""The catch-up rule (docs/contract.md §5): what a tick charges for each of a customer's due
assignments, and which may be over the catch-up limit and must be counted before it is held.
Pure: the counting that needs the ledger (RunPackage's charges already made) is the service
layer's (`planning._recount`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from charger.domain.charges import Charge, due_charges
from charger.domain.model import PackageVersion, Tracked


@dataclass(frozen=True)
class Policy:
    """The charger operator's settings that shape a tick's work."""

    catch_up_limit: int = 400  # CATCH_UP_LIMIT: more charges than this for one assignment hold it
    notice_days: int = 0  # CHARGE_NOTICE_DAYS: for package versions without notice_days
    batch_charges: int = 10_000  # charges per transaction, so one huge catch-up waits for none
    run_max_days: int = 366  # RUN_PACKAGE_MAX_DAYS: RunPackage's horizon after the latest tick


@dataclass(slots=True)
class Plan:
    """What a tick does for one assignment: its charges and the progress it leaves."""

    tracked: Tracked
    charges: list[Charge]
    through: date | None
    setup_done: bool
    hold: str | None
    held: tuple[int, date, date] | None = None  # (count, first, last period start) when held now
    until: date | None = None  # the customer's cut-off date in this batch (a released catch-up)
    recount: bool = False  # may be over the catch-up limit: count it exactly (`_recount`)


def plan(
    t: Tracked,
    versions: list[PackageVersion],
    at: datetime,
    until: date | None,
    policy: Policy,
) -> Plan:
    """The charges of one due assignment; `recount` set when it may be over the catch-up
    limit (the caller counts it exactly, which may need the database)."""
    a = t.assignment
    start = t.ticked_through + timedelta(days=1) if t.ticked_through else None
    released = t.hold == "released"
    # Released: everything due, without the limit; at most a batch's worth of periods now
    # (the rest next batch: the assignment stays due and released until caught up).
    most = policy.batch_charges if released else policy.catch_up_limit + 1
    due = due_charges(
        a, versions, at, start, not t.setup_done, until=until, max_periods=most, scheduled=True
    )
    if not released and (not due.complete or len(due.charges) > policy.catch_up_limit):
        return Plan(t, [], t.ticked_through, t.setup_done, t.hold, until=until, recount=True)
    through = due.through or t.ticked_through
    return Plan(t, due.charges, through, t.setup_done or due.setup_examined, t.hold)


def plan_customer(
    tracked: list[Tracked],
    versions: dict[str, list[PackageVersion]],
    at: datetime,
    policy: Policy,
) -> Iterator[Plan]:
    """The plans of one customer's due assignments, one at a time (a customer of thousands of
    assignments is planned in pieces). When a released assignment has more periods due than
    a batch takes, all of the customer's assignments stop at the same date, so the spend
    limit sees the customer's charges in order across the batches."""
    until: date | None = None
    for t in tracked:
        if t.hold == "released":
            start = t.ticked_through + timedelta(days=1) if t.ticked_through else None
            due = due_charges(
                t.assignment,
                versions.get(t.assignment.package_id, []),
                at,
                start,
                not t.setup_done,
                max_periods=policy.batch_charges,
                scheduled=True,
            )
            if not due.complete and due.through is not None:
                until = due.through if until is None else min(until, due.through)
    for t in tracked:
        yield plan(t, versions.get(t.assignment.package_id, []), at, until, policy)
