"""The cluster test's workload (scripts/cluster_check.py): a random history of packages,
assignments, ended assignments and calls, and the events the contract says it must yield,
each by its event id (docs/contract.md §2: `uuid5(NAMESPACE_URL, "packages:" + key)`).

Every package bills daily, so each day an assignment covers is one period:
- `recurring` packages (proration daily: an end credits the days already debited after it):
  a CreditDebited `debit:<assignment>:<day>` per day;
- `free_minutes` packages (retail > 0): per day that debit and a FreeMinutesGranted
  `grant:<assignment>:<day>` of enough minutes that no call of the workload exhausts it;
- an EndAssignment read after the first tick: CreditIssued `credit:<assignment>:<day>` for
  each debited day after the end (§7);
- each call inside a free-minutes assignment's days: FreeMinutesUsed `used:<usage_id>`.

Pure: the same seed gives the same history (under new ids: uuid4, so runs never collide)."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pkgcontract import topics
from pkgcontract.messages import natural_event_id_str

FREE_MINUTES = 600  # a day's grant per unit of quantity: more than a day's calls can use
CALL_SECONDS = (30, 400)  # a call's duration, drawn between these


def command(event_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "event_id": str(uuid.uuid4()),
        "schema_version": 1,
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        **fields,
    }


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass
class Assignment:
    assignment_id: str
    customer_id: str
    package_id: str
    kind: str
    quantity: int
    start: date
    end: date | None = None  # set by an EndAssignment after the first tick


@dataclass
class History:
    """What is sent (commands by topic and key) and what must come out."""

    run: str
    first_tick: datetime
    big_tick: datetime
    packages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    early_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    stream_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def customers(self) -> set[str]:
        return {a.customer_id for a in self.assignments}

    def assigns(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (
                a.customer_id,
                command(
                    "AssignPackage",
                    assignment_id=a.assignment_id,
                    customer_id=a.customer_id,
                    package_id=a.package_id,
                    quantity=a.quantity,
                    start_date=a.start.isoformat(),
                    auto_decrement_credit=True,
                ),
            )
            for a in self.assignments
        ]

    def ends(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (
                a.customer_id,
                command("EndAssignment", assignment_id=a.assignment_id, end_date=a.end.isoformat()),
            )
            for a in self.assignments
            if a.end is not None
        ]

    def expected(self) -> dict[str, set[str]]:
        """Event type -> the event ids the whole run must yield, each once."""
        first_day, last_day = self.first_tick.date(), self.big_tick.date()
        out: dict[str, set[str]] = {
            "CreditDebited": set(),
            "FreeMinutesGranted": set(),
            "CreditIssued": set(),
            "FreeMinutesUsed": set(),
        }
        for a in self.assignments:
            # An ended assignment was charged by the first tick up to its day, then credited.
            charged = days(a.start, first_day if a.end is not None else last_day)
            for d in charged:
                out["CreditDebited"].add(natural_event_id_str(f"debit:{a.assignment_id}:{d}"))
                if a.kind == "free_minutes":
                    key = f"grant:{a.assignment_id}:{d}"
                    out["FreeMinutesGranted"].add(natural_event_id_str(key))
            if a.end is not None:
                for d in days(a.end + timedelta(days=1), first_day):
                    key = f"credit:{a.assignment_id}:{d}"
                    out["CreditIssued"].add(natural_event_id_str(key))
        for _, call in self.early_calls + self.stream_calls:
            out["FreeMinutesUsed"].add(natural_event_id_str(f"used:{call['usage_id']}"))
        return out

    def first_credits(self) -> set[str]:
        """The credits the ends make (all of them: every end is read before the big tick)."""
        return self.expected()["CreditIssued"]


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def build(
    seed: int, customers: int, history_days: int, tick_days: int, calls: int, today: date
) -> History:
    """A history of `customers` customers (1 or 2 assignments each, started in the
    `history_days` before the first tick), a first tick five days after `today`, a big tick
    `tick_days` later, and `calls` calls: a quarter before the big tick, the rest streamed
    during it."""
    rng = random.Random(seed)
    run = f"cl{seed:06d}"
    # The compose ticker keeps the charger's clock at the wall clock until the first tick, and
    # an assignment read after a settled moment gets its charges after that ChargesSettled:
    # a call before that moment could be applied before its grant (as the contract allows).
    # So calls come two days after `today` at the earliest, the first tick three days later.
    calls_from = today + timedelta(days=2)
    first_day = today + timedelta(days=5)
    first_tick = datetime.combine(first_day, time(0, 1), UTC)
    big_tick = first_tick + timedelta(days=tick_days)
    history = History(run, first_tick, big_tick)
    kinds = ("recurring", "recurring", "free_minutes", "free_minutes")
    for n, kind in enumerate(kinds):
        package_id = f"{run}-{kind}-{n}"
        fields: dict[str, Any] = {
            "name": package_id,
            "kind": kind,
            "retail": str(rng.choice(("0.05", "0.10", "0.25", "1.20"))),
            "currency": "GBP",
            "frequency": "daily",
            "proration": "daily",
        }
        if kind == "free_minutes":
            fields["free_minutes"] = FREE_MINUTES
        history.packages.append(
            (package_id, command("DefinePackage", package_id=package_id, **fields))
        )
    for c in range(customers):
        customer = f"{run}-c{c:05d}"
        for package_id, define in rng.sample(history.packages, rng.choice((1, 1, 2))):
            start = first_day - timedelta(days=rng.randrange(history_days))
            a = Assignment(
                str(uuid.uuid4()), customer, package_id, define["kind"], rng.randint(1, 3), start
            )
            if a.kind == "recurring" and start < first_day and rng.random() < 0.2:
                a.end = start + timedelta(days=rng.randrange((first_day - start).days))
            history.assignments.append(a)
    free = [a for a in history.assignments if a.kind == "free_minutes"]
    for n in range(calls):
        a = rng.choice(free)
        # Early calls fall before the first tick (applied once it settles); streamed ones in
        # the big tick's days (applied once it settles).
        early = n < calls // 4
        first = max(a.start, calls_from) if early else max(a.start, first_day)
        last = first_day - timedelta(days=1) if early else big_tick.date() - timedelta(days=1)
        if first > last:
            first, last = max(a.start, first_day), big_tick.date() - timedelta(days=1)
        day = first + timedelta(days=rng.randrange((last - first).days + 1))
        at = datetime.combine(day, time(0), UTC) + timedelta(seconds=rng.randrange(86_000))
        seconds = rng.randint(*CALL_SECONDS)
        usage_id = str(uuid.uuid4())
        call = command(
            "UsageRated",
            event_id=usage_id,  # a call sent again is the same message
            usage_id=usage_id,
            customer_id=a.customer_id,
            amount=str(Decimal(seconds) * Decimal("0.002")),
            currency="GBP",
            occurred_at=instant(at),
            destination=rng.choice(("442071234567", "33142278000", "15550100")),
            duration_seconds=seconds,
        )
        (history.early_calls if early else history.stream_calls).append((a.customer_id, call))
    return history


TOPICS_WATCHED = (
    topics.CREDIT_DEBITED,
    topics.FREE_MINUTES_GRANTED,
    topics.CREDITS_ISSUED,
    topics.FREE_MINUTES_USED,
    topics.CHARGER_PROGRESS,
    topics.CHARGER_EVENTS,
    topics.ASSIGNMENT_EVENTS,
    topics.CATALOG_PACKAGES,
)
