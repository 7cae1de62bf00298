"""How pkgctl prints events, reports and dead letters (rich)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from pkgshared.topic_io import Record


def _table(*args: Any, **kwargs: Any) -> Table:
    # rich loads on the first table printed, not at start: `pkgctl --help` does without it.
    from rich.table import Table

    return Table(*args, **kwargs)


_SKIP = {"event_id", "schema_version", "occurred_at", "correlation_id", "event_type"}


def event(console: Console, obj: dict[str, Any]) -> None:
    table = _table(title=obj.get("event_type"), show_header=False)
    for key, value in obj.items():
        if key not in _SKIP and value is not None:
            table.add_row(key, json.dumps(value) if isinstance(value, list | dict) else str(value))
    console.print(table)


def rejection(console: Console, obj: dict[str, Any]) -> None:
    console.print(f"[bold red]rejected:[/] {obj.get('reason')}")
    for e in obj.get("errors", []):
        console.print(f"  {e.get('field') or '(command)'}: {e.get('message')}")


def run_report(console: Console, report: dict[str, Any], every_line: bool) -> None:
    mode = "simulation" if report["simulate"] else "run"
    title = f"{mode} for {report['customer_id']} as of the end of {report['date']}"
    if not every_line:
        _report_summary(console, title, report)
        return
    table = _table(title=title)
    for column in ("period", "package", "kind", "amount", "minutes", "status", "assignment"):
        table.add_column(column)
    for line in report["lines"]:
        table.add_row(
            f"{line['period_start']} .. {line['period_end']}",
            line["package_id"],
            line["kind"],
            f"{line['amount']} {line['currency']}" if line["amount"] is not None else "",
            str(line["minutes"] or ""),
            line["status"],
            line["assignment_id"],
        )
    console.print(table)
    totals = ", ".join(f"{v} {k}" for k, v in report["totals"].items()) or "nothing"
    console.print(f"total {'to charge' if report['simulate'] else 'charged'}: {totals}")


def _report_summary(console: Console, title: str, report: dict[str, Any]) -> None:
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for x in report["lines"]:
        g = groups.setdefault(
            (x["package_id"], x["status"]), {"lines": 0, "amounts": {}, "minutes": 0}
        )
        g["lines"] += 1
        g["minutes"] += x["minutes"] or 0
        if x["amount"] is not None:
            g["amounts"][x["currency"]] = g["amounts"].get(x["currency"], 0) + Decimal(x["amount"])
    table = _table(title=f"{title}: {len(report['lines'])} line(s) (--lines lists them)")
    for column in ("package", "status", "lines", "amount", "minutes"):
        table.add_column(column)
    for (package, status), g in sorted(groups.items()):
        table.add_row(
            package,
            status,
            str(g["lines"]),
            ", ".join(f"{v} {k}" for k, v in g["amounts"].items()),
            str(g["minutes"] or ""),
        )
    console.print(table)
    totals = ", ".join(f"{v} {k}" for k, v in report["totals"].items()) or "nothing"
    console.print(f"total {'to charge' if report['simulate'] else 'charged'}: {totals}")


def line(console: Console, record: Record, obj: dict[str, Any]) -> None:
    fields = {k: v for k, v in obj.items() if k not in _SKIP and v is not None}
    key = (record.key or b"").decode(errors="replace")
    console.print(
        f"[dim]{obj.get('occurred_at', '')}[/] [bold]{obj.get('event_type', '?')}[/] "
        f"[cyan]{key}[/] {json.dumps(fields, separators=(',', ':'))}",
        soft_wrap=True,
        highlight=False,
    )


def dead_letters(console: Console, letters: list[dict[str, Any]]) -> None:
    table = _table(title=f"{len(letters)} dead letter(s)")
    for column in ("dlq offset", "source", "partition/offset", "key", "error", "replayed"):
        table.add_column(column)
    for x in letters:
        table.add_row(
            str(x["_offset"]),
            x["source_topic"],
            f"{x['partition']}/{x['offset']}",
            str(x.get("key")),
            x["error"][:80],
            "yes" if x.get("_replayed") else "",
        )
    console.print(table)


def dead_letter(console: Console, letter: dict[str, Any]) -> None:
    event(console, {k: v for k, v in letter.items() if k not in ("_offset", "payload_base64")})
    payload = base64.b64decode(letter["payload_base64"])
    console.print("original bytes:")
    console.print(repr(payload), soft_wrap=True, highlight=False)


def clock(console: Console, state: Any, sent: bool = True) -> None:
    tick, settled = state.latest_tick, state.settled
    if sent:
        console.print(
            "latest tick sent  "
            + (f"{tick['at']} (tick {tick.get('tick_id')})" if tick else "none on the clock topic")
        )
    console.print(
        "charger's clock   "
        + (
            f"{settled['at']} (tick {settled.get('tick_id')})"
            if settled
            else "no tick accepted yet"
        )
    )
    console.print(f"wall clock        {state.now.isoformat().replace('+00:00', 'Z')}")


def clock_warning(state: Any) -> str:
    return (
        f"[bold yellow]warning:[/] the charger's clock is {state.ahead_by} ahead of the wall "
        "clock: ticks before it change nothing, and assignments started since may be held "
        "by the catch-up limit (see `pkgctl release`)"
    )


def allowances(console: Console, customer: str, balances: list[dict[str, Any]]) -> None:
    table = _table(title=f"free minutes of {customer}: {len(balances)} grant(s)")
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
    for b in sorted(balances, key=lambda b: (b["valid_from"], b["grant_id"])):
        percents = b.get("notify_at_percent") or []
        reached = set(b.get("percents_reached") or [])
        alerts = ",".join(f"{p}{'*' if p in reached else ''}" for p in percents) or "-"
        table.add_row(
            b["grant_id"],
            ",".join(b["destination_prefixes"]) or "any",
            b.get("did") or "all",
            b["valid_from"],
            b["valid_until"],
            str(b["granted_seconds"]),
            str(b["used_seconds"]),
            str(b["remaining_seconds"]),
            b["status"],
            alerts,
        )
    console.print(table)
    if any(b.get("percents_reached") for b in balances):
        console.print("alerts at %: * reached (AllowanceThresholdReached sent)")


def customer(console: Console, view: Any, lines: int) -> None:
    """`pkgctl customer`: assignments, limit, this month's charges, holds, free minutes."""
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
    table = _table(title=f"{len(items)} assignment(s)")
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


def _charges(console: Console, charges: dict[str, Any], lines: int) -> None:
    month = charges["month"]
    totals = ", ".join(
        f"{t['charged']} {t['currency']}"
        + (f" (declined {t['declined']})" if t["declined"] not in ("0", "0.00") else "")
        for t in charges["month_to_date"]
    )
    console.print(
        f"month to date ({month[:7] if month else 'no tick yet'}): {totals or 'nothing charged'}"
        f"; {charges['minutes_granted_this_month']} free minutes granted"
    )
    for h in charges["held"]:
        console.print(
            f"[bold yellow]{h['hold']}:[/] assignment {h['assignment_id']} ({h['package_id']}), "
            f"charged through {h['charged_through'] or 'nothing'}"
            + (
                f" (pkgctl release {charges['customer_id']} {h['assignment_id']})"
                if h["hold"] == "held"
                else ""
            )
        )
    items = charges["charges"]["items"]
    declined = [c for c in items if c["status"] == "declined"]
    table = _table(
        title=f"charges for periods {charges['from_date']} to {charges['to_date']}: "
        f"{len(items)}{'+' if charges['charges']['truncated'] else ''}"
        f", {len(declined)} declined"
        + (f" (last {lines} shown; --lines N)" if len(items) > lines else "")
    )
    columns = ("period", "days", "package", "kind", "amount", "minutes", "status", "reason")
    for column in (*columns, "credited"):
        table.add_column(column)
    for c in items[-lines:] if lines else []:
        days = c.get("charged_days")
        table.add_row(
            c["period_start"] + (f" to {c['period_end']}" if c.get("period_end") else ""),
            f"{days} of {c.get('period_days')}" if days else "",
            c["package_id"] or c["assignment_id"],
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
    table = _table(title=f"catalog: {len(found)} package(s)")
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
    table = _table()
    for column in ("version", "effective from", "terms", "name"):
        table.add_column(column)
    for v in found["versions"]:
        table.add_row(
            str(v["version"]), v.get("effective_from") or "the beginning", _terms(v), v["name"]
        )
    console.print(table)
