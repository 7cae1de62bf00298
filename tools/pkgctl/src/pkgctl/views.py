"""How pkgctl prints what the services' read APIs answer: a customer, its free minutes, the
catalog (rich)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pkgctl.render import escape, new_table

if TYPE_CHECKING:
    from rich.console import Console


def allowances(console: Console, customer: str, balances: list[dict[str, Any]]) -> None:
    table = new_table(title=f"free minutes of {customer}: {len(balances)} grant(s)")
    for column in (
        "grant",
        "prefixes",
        "DID",
        "valid from",
        "valid until",
        "granted s",
        "used s",
        "remaining s",
        "status",
        "alerts at %",
    ):
        table.add_column(column)
    extra = [c for c in ROLLOVER if any(b.get(c[0]) for b in balances)]
    for _, title in extra:
        table.add_column(title)
    for b in sorted(balances, key=lambda b: (b["valid_from"], b["grant_id"])):
        percents = b.get("notify_at_percent") or []
        reached = set(b.get("percents_reached") or [])
        alerts = ",".join(f"{p}{'*' if p in reached else ''}" for p in percents) or "-"
        table.add_row(
            *_cells(b),
            alerts,
            *(_shown(b.get(name)) for name, _ in extra),
        )
    console.print(table)
    if any(b.get("percents_reached") for b in balances):
        console.print("alerts at %: * reached (AllowanceThresholdReached sent)")


ROLLOVER = (
    ("topup_id", "top-up"),
    ("returned_seconds", "returned s"),
    ("rolled_over_from", "rolled over from"),
    ("rolled_over_seconds", "rolled over s"),
)
"""A grant's top-up, rollover and reversal fields (as AllowanceBalance names them): shown when
the allowance's read API gives them for some grant."""


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def _cells(b: dict[str, Any]) -> tuple[str, ...]:
    return (
        b["grant_id"],
        ",".join(b["destination_prefixes"]) or "any",
        b.get("did") or "all",
        b["valid_from"],
        b["valid_until"],
        str(b["granted_seconds"]),
        str(b["used_seconds"]),
        str(b["remaining_seconds"]),
        b["status"],
    )


def customer(console: Console, view: Any, lines: int) -> None:
    """`pkgctl customer`: assignments, limit, a month's charges (each with its assignment),
    totals gross and net of credits, holds with why, free minutes."""
    console.print(f"[bold]customer {view.customer_id}[/]")
    _assignments(console, (view.assignments or {}).get("items", []))
    limit = view.spend_limit
    console.print(
        "spend limit: "
        + (
            "none"
            if limit is None or limit["monthly_limit"] is None
            else f"{limit['monthly_limit']} {limit['currency']} a month"
        )
    )
    charges = view.charges
    if charges is None:
        console.print("charges: the charger knows nothing of this customer yet")
    else:
        _charges(console, charges, lines)
    grants = (view.allowances or {}).get("grants", {}).get("items", [])
    if grants:
        live = [g for g in grants if g["status"] == "active"]
        allowances(console, view.customer_id, live)
        console.print(
            f"{len(grants) - len(live)} expired grant(s) not shown; "
            f"{view.allowances['calls_waiting']} call(s) waiting for the charger's clock"
        )
        parked = view.allowances.get("calls_parked", 0)
        if parked:
            console.print(
                f"{parked} call(s) parked behind a call far past the charger's clock "
                "(a clock set wrong upstream?)"
            )


def _assignments(console: Console, items: list[dict[str, Any]]) -> None:
    table = new_table(title=f"{len(items)} assignment(s)")
    for column in ("assignment", "package", "DID", "qty", "start", "end", "changes"):
        table.add_column(column)
    for a in sorted(items, key=lambda a: (a["state"]["start_date"], a["assignment_id"])):
        s = a["state"]
        table.add_row(
            a["assignment_id"],
            s["package_id"],
            s.get("did") or "",
            str(s["quantity"]),
            s["start_date"],
            s.get("end_date") or "",
            str(len(a["history"]) - 1),
        )
    console.print(table)


def short(assignment_id: str) -> str:
    """An assignment's id as the screen shows it: its first 8 characters (a UUID's first
    group), enough to tell a customer's assignments apart."""
    return assignment_id[:8]


def month_totals(totals: list[dict[str, Any]]) -> str:
    """A month's totals per currency: gross charged, credits and net; declined when any."""
    parts = []
    for t in totals:
        credited = t.get("credited") or "0"
        line = f"{t['charged']} {t['currency']} charged"
        if Decimal(credited) != 0:
            line += f", {credited} credited, net {t.get('net', t['charged'])} {t['currency']}"
        else:
            line += f" (net {t.get('net', t['charged'])})"
        if Decimal(t["declined"]) != 0:
            line += f", declined {t['declined']}"
        parts.append(line)
    return "; ".join(parts)


def hold_line(customer_id: str, h: dict[str, Any]) -> str:
    """A held (or released) assignment, why, and how to release it."""
    reason = h.get("reason")
    why = (
        "over the catch-up limit"
        if reason == "catch_up_limit"
        else reason
        if reason
        else "reason not recorded"
    )
    return (
        f"[bold yellow]{h['hold']}:[/] assignment {h['assignment_id']} ({h['package_id']}), "
        f"charged through {h['charged_through'] or 'nothing'}; why: {escape(why)}"
        + (f" (pkgctl release {customer_id} {h['assignment_id']})" if h["hold"] == "held" else "")
    )


def _charges(console: Console, charges: dict[str, Any], lines: int) -> None:
    month = charges["month"]
    totals = month_totals(charges["month_to_date"])
    console.print(
        f"month {month[:7] if month else '(no tick yet)'}: {totals or 'nothing charged'}"
        f"; {charges['minutes_granted_this_month']} free minutes granted",
        highlight=False,
    )
    for h in charges["held"]:
        console.print(hold_line(charges["customer_id"], h), highlight=False)
    for t in charges.get("topups", []):
        price = f", {t['retail']} {t['currency']}" if t.get("retail") is not None else ""
        console.print(
            f"top-up {t['topup_id']}: {t['minutes']} min{price}, valid {t['valid_from']} to "
            f"{t['valid_until']}: {t['status']}" + (f" ({t['reason']})" if t.get("reason") else ""),
            markup=False,
        )
    items = charges["charges"]["items"]
    declined = [c for c in items if c["status"] == "declined"]
    table = new_table(
        title=f"charges for periods {charges['from_date']} to {charges['to_date']}: "
        f"{len(items)}{'+' if charges['charges']['truncated'] else ''}"
        f", {len(declined)} declined"
        + (f" (last {lines} shown; --lines N)" if len(items) > lines else "")
    )
    columns = ("period", "days", "assignment", "package", "kind", "amount", "minutes", "status")
    for column in (*columns, "reason", "credited"):
        table.add_column(column)
    for c in items[-lines:] if lines else []:
        days = c.get("charged_days")
        table.add_row(
            c["period_start"] + (f" to {c['period_end']}" if c.get("period_end") else ""),
            f"{days} of {c.get('period_days')}" if days else "",
            short(str(c["assignment_id"])) if c.get("assignment_id") else "",
            c["package_id"] or f"top-up {c.get('topup_id')}",
            c["kind"],
            f"{c['amount']} {c['currency']}" if c["amount"] is not None else "",
            str(c["minutes"] or ""),
            c["status"] + (f" ({c['decline_reason']})" if c.get("decline_reason") else ""),
            c["reason"] or "",
            (
                f"{c['credited']} {c['currency']} from {c['credited_from']}"
                if c.get("credited") is not None
                else ""
            ),
        )
    console.print(table)


def _terms(v: dict[str, Any]) -> str:
    match = ",".join(str(m) for m in v.get("frequency_match") or [])
    extra = [
        f"{v['free_minutes']} min" if v.get("free_minutes") else "",
        "prorated daily" if v.get("proration") == "daily" else "",
        f"rollover {v['rollover_percent']}% for {v.get('rollover_days')} days"
        if v.get("rollover_percent")
        else "",
        f"alerts {','.join(str(p) for p in v['notify_at_percent'])}%"
        if v.get("notify_at_percent")
        else "",
    ]
    return (
        f"{v['kind']} {v['retail']} {v['currency']} {v['frequency']}"
        + (f" [{match}]" if match else "")
        + "".join(f", {e}" for e in extra if e)
    )


def packages(console: Console, found: list[dict[str, Any]]) -> None:
    table = new_table(title=f"catalog: {len(found)} package(s)")
    for column in ("package", "version", "terms", "name", "status"):
        table.add_column(column)
    for p in found:
        latest = p["latest"]
        table.add_row(
            p["package_id"],
            str(p["latest_version"]),
            _terms(latest),
            latest["name"],
            "retired" if p["retired"] else "active",
        )
    console.print(table)


def package(console: Console, found: dict[str, Any]) -> None:
    console.print(
        f"[bold]package {found['package_id']}[/]" + (" (retired)" if found["retired"] else "")
    )
    table = new_table()
    for column in ("version", "effective from", "terms", "name"):
        table.add_column(column)
    for v in found["versions"]:
        table.add_row(
            str(v["version"]), v.get("effective_from") or "the beginning", _terms(v), v["name"]
        )
    console.print(table)
