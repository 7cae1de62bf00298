"""A random history (tests/unit/charger_histories.py) played on a charger (`Backend`: the
in-memory fakes in the unit tier, PostgreSQL in the integration tier) and on the contract's
reference (tests/unit/charger_reference.py), and the two compared: every CreditDebited,
FreeMinutesGranted, ChargeDeclined, CreditIssued and RunPackage line, and no other."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from pkgcontract.messages import (
    AssignmentChanged,
    AssignmentEnded,
    Message,
    PackageAssigned,
    PackageDefined,
    RunPackage,
    SpendLimitSet,
    natural_event_id,
)
from tests.unit import charger_reference as ref
from tests.unit.charger_histories import History


class Backend(Protocol):
    """A charger driven the way its entrypoints drive it."""

    async def project(self, events: list[Message]) -> None:
        """Read input events, then charge what they made due as of the latest tick."""

    async def tick(self, at: datetime) -> None:
        """A tick accepted and everything it made due charged."""

    async def run(self, cmd: RunPackage) -> None: ...

    async def events(self, event_type: str) -> list[dict[str, Any]]: ...


def reference_package(d: PackageDefined) -> ref.Package:
    return ref.Package(
        package_id=d.package_id,
        kind=d.kind,
        frequency=d.frequency,
        match=tuple(d.frequency_match),  # type: ignore[arg-type]
        retail=Decimal(d.retail),
        setup_retail=None if d.setup_retail is None else Decimal(d.setup_retail),
        proration=d.proration,
        free_minutes=d.free_minutes,
    )


async def play(h: History, charger: Backend) -> ref.Reference:
    """Play `h` on `charger` and on the reference; the reference's state at the end."""
    model = ref.Reference()
    versions = {d.package_id: reference_package(d) for d in h.packages}
    known: dict[int, PackageAssigned] = {}

    async def set_limit(customer: str, limit: str | None) -> None:
        set_limit = SpendLimitSet(customer_id=customer, monthly_limit=limit, currency="USD")
        await charger.project([set_limit])
        model.limits[customer] = None if limit is None else Decimal(limit)
        model.charge_all()

    async def assign(i: int) -> None:
        if i in known:
            return
        e = known[i] = h.assignments[i]
        model.assignments[e.assignment_id] = ref.Assignment(
            e.assignment_id,
            e.customer_id,
            versions[e.package_id],
            e.quantity,
            e.start_date,
            e.end_date,
            e.timezone,
        )
        await charger.project([e])
        model.charge_all()

    await charger.project(list(h.packages))
    for customer, limit in h.limits:
        await set_limit(customer, limit)
    for i in range(len(h.assignments)):
        if i not in h.late:
            await assign(i)
    for step in h.steps:
        name, *args = step
        if name == "tick":
            model.clock = args[0]
            await charger.tick(args[0])
            model.charge_all()
        elif name == "assign":
            await assign(args[0])
        elif name in ("end", "change"):
            i, end = args
            if i not in known:
                continue  # an end of an assignment not read yet: not sent (its order is kept)
            a = known[i]
            event: Message
            if name == "end":
                event = AssignmentEnded(
                    assignment_id=a.assignment_id,
                    customer_id=a.customer_id,
                    package_id=a.package_id,
                    end_date=end,
                )
            else:
                fields = a.model_dump(exclude={"event_type", "event_id", "end_date"})
                event = AssignmentChanged(**fields, end_date=end, effective_from=a.start_date)
            await charger.project([event])
            model.end(a.assignment_id, end)
        elif name == "limit":
            await set_limit(*args)
        else:
            customer, day, simulate = args
            cmd = RunPackage(
                request_id=uuid.uuid4(), customer_id=customer, date=day, simulate=simulate
            )
            await charger.run(cmd)
            model.run(customer, day, simulate)
    return model


def _n(value: Any) -> Any:
    """A field as the JSON carries it, comparable: money as a normalized Decimal, dates ISO."""
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_n(v) for v in row) for row in rows), key=repr)


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


async def emitted(charger: Backend) -> dict[str, list[Any]]:
    """The charger's events, as the reference states them."""
    debits = [
        (
            e["debit_id"],
            e["kind"],
            _money(e["amount"]),
            e["period_start"],
            e["period_end"],
            e["charged_days"],
            e["period_days"],
            e["reason"],
        )
        for e in await charger.events("CreditDebited")
    ]
    grants = [(e["grant_id"], e["minutes"]) for e in await charger.events("FreeMinutesGranted")]
    declined = [
        (e["event_id"], e["kind"], _money(e["amount"]))
        for e in await charger.events("ChargeDeclined")
    ]
    credits = [
        (
            e["credit_id"],
            _money(e["amount"]),
            e["credited_days"],
            e["credited_from"],
            e["period_start"],
            e["period_end"],
            e["debit_id"],
        )
        for e in await charger.events("CreditIssued")
    ]
    reports = [
        _rows(
            [
                (
                    line["assignment_id"],
                    line["kind"],
                    line["period_start"],
                    line["period_end"],
                    _money(line["amount"]),
                    line["minutes"],
                    line["status"],
                )
                for line in e["lines"]
            ]
        )
        for e in await charger.events("PackageRunReported")
    ]
    return {
        "debits": _rows(debits),
        "grants": _rows(grants),
        "declined": _rows(declined),
        "credits": _rows(credits),
        "reports": reports,
    }


def expected(model: ref.Reference) -> dict[str, list[Any]]:
    def eid(key: object) -> str:
        return str(natural_event_id(str(key)))

    credits = [
        (eid(k), amount, days, since, start, end, eid(k.replace("credit:", "debit:", 1)))
        for k, amount, days, since, start, end in model.credits  # type: ignore[misc]
    ]
    return {
        "debits": _rows([(eid(k), *rest) for k, *rest in model.debits]),
        "grants": _rows([(eid(k), minutes) for k, minutes, *_ in model.grants]),
        "declined": _rows([(eid(k), *rest) for k, *rest in model.declined]),
        "credits": _rows(credits),
        "reports": [_rows(lines) for lines in model.reports],
    }


async def check(h: History, charger: Backend) -> ref.Reference:
    """Play `h` and assert the charger emitted what the reference says, and nothing else."""
    model = await play(h, charger)
    got, want = await emitted(charger), expected(model)
    for name in want:
        assert got[name] == want[name], f"{name} differ (got vs expected) for {h}"
    return model


def features(model: ref.Reference) -> set[str]:
    """What a history exercised (for hypothesis' statistics: the runs must show these)."""
    found = set()
    for key, row in model.ledger.items():
        aid = key.split(":")[1]
        a = model.assignments[uuid.UUID(aid)]
        if row.status == "declined" and row.charge.kind != "grant":
            found.add(f"declined {row.charge.kind}")
        if row.charge.kind == "grant":
            setup = model.ledger.get(f"debit:{aid}:setup")
            if row.status == "declined":
                found.add("grant withheld with its declined debit")
            elif setup is not None and setup.status == "declined":
                found.add("grant made though the setup was declined")
        if key in model.credited:
            found.add(f"credited: {a.package.frequency}")
            if row.charge.charged_days is not None:
                found.add("credited: a part-period")
    for a in model.assignments.values():
        finished = model.clock is not None and a.end is not None
        if finished and ref.local_date(model.clock, a.timezone) > a.end:  # type: ignore[arg-type]
            found.add("ended before the clock")
    if any(moves > 1 for moves in model.crediting_moves.values()):
        found.add("credited by two moves of one end")
    for key in model.credited:
        aid, start = key.split(":")[1], key.split(":")[2]
        if any(
            k.startswith(f"debit:{aid}:")
            and k.split(":")[2] > start
            and r.status == "charged"
            and r.charge.kind == "recurring"
            and k not in model.credited
            for k, r in model.ledger.items()
        ):
            found.add("charged after a credited period (end moved later)")
    if any(status == "declined" for lines in model.reports for *_, status in lines):
        found.add("report: declined lines")
    return found
