"""How pkgctl prints events, reports and dead letters (rich)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pkgcontract import money

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from pkgtools.topic_io import Record


def escape(text: str) -> str:
    """`text` printed as it is (no rich markup read in it)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def new_table(*args: Any, **kwargs: Any) -> Table:
    # rich loads on the first table printed, not at start: `pkgctl --help` does without it.
    from rich.table import Table

    return Table(*args, **kwargs)


_SKIP = {"event_id", "schema_version", "occurred_at", "correlation_id", "event_type"}


def event(console: Console, obj: dict[str, Any]) -> None:
    table = new_table(title=obj.get("event_type"), show_header=False)
    for key, value in obj.items():
        if key not in _SKIP and value is not None:
            table.add_row(key, json.dumps(value) if isinstance(value, list | dict) else str(value))
    console.print(table)


def rejection(console: Console, obj: dict[str, Any]) -> None:
    console.print(f"[bold red]rejected:[/] {obj.get('reason')}")
    for e in obj.get("errors", []):
        console.print(f"  {e.get('field') or '(command)'}: {e.get('message')}")


def tick_refused(console: Console, obj: dict[str, Any]) -> None:
    """A TickRefused (docs/contract.md §4 ClockTicked): what was refused, why, how to proceed."""
    console.print(
        f"[bold red]refused:[/] the charger did not take tick {obj.get('tick_id')} at "
        f"{obj.get('at')}: it changed nothing"
    )
    console.print(f"  the charger's wall clock said {obj.get('wall_clock')}")
    console.print(f"  {obj.get('reason')}", markup=False)
    console.print(
        "  to proceed: tick at the wall clock (`pkgctl tick` without --at); to drive "
        "simulated time, run the charger with CLOCK_MAX_AHEAD_SECONDS=0"
    )


def run_report(console: Console, report: dict[str, Any], every_line: bool) -> None:
    mode = "simulation" if report["simulate"] else "run"
    title = f"{mode} for {report['customer_id']} as of the end of {report['date']}"
    if not every_line:
        _report_summary(console, title, report)
        return
    table = new_table(title=title)
    for column in ("period", "package", "kind", "amount", "minutes", "status", "assignment"):
        table.add_column(column)
    for line in report["lines"]:
        table.add_row(
            f"{line['period_start']} .. {line['period_end']}",
            line["package_id"],
            line["kind"],
            f"{line['amount']} {line['currency']}" if line["amount"] is not None else "",
            str(line["minutes"] or ""),
            _status(line),
            line["assignment_id"],
        )
    console.print(table)
    totals = ", ".join(f"{v} {k}" for k, v in report["totals"].items()) or "nothing"
    console.print(f"total {'to charge' if report['simulate'] else 'charged'}: {totals}")


def _status(line: dict[str, Any]) -> str:
    """A line's status; a held line's with the charges it stands for (over the catch-up
    limit: ReleaseHeldCharges, or a real run, makes them)."""
    if line["status"] == "held":
        return f"held: {line.get('count')} charges over the catch-up limit"
    return str(line["status"])


def _report_summary(console: Console, title: str, report: dict[str, Any]) -> None:
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for x in report["lines"]:
        g = groups.setdefault(
            (x["package_id"], x["status"]), {"lines": 0, "amounts": {}, "minutes": 0, "held": 0}
        )
        g["lines"] += 1
        g["held"] += x.get("count") or 0  # a held line stands for `count` charges
        g["minutes"] += x["minutes"] or 0
        if x["amount"] is not None:
            amounts = g["amounts"]
            amounts[x["currency"]] = money.plus(
                amounts.get(x["currency"], money.ZERO), Decimal(x["amount"])
            )
    table = new_table(title=f"{title}: {len(report['lines'])} line(s) (--lines lists them)")
    for column in ("package", "status", "lines", "amount", "minutes"):
        table.add_column(column)
    for (package, status), g in sorted(groups.items()):
        table.add_row(
            package,
            f"held: {g['held']} charges over the catch-up limit" if status == "held" else status,
            str(g["lines"]),
            ", ".join(f"{money.money_str(v)} {k}" for k, v in g["amounts"].items()),
            str(g["minutes"] or ""),
        )
    console.print(table)
    totals = ", ".join(f"{v} {k}" for k, v in report["totals"].items()) or "nothing"
    console.print(f"total {'to charge' if report['simulate'] else 'charged'}: {totals}")


_ALARMING = {"TickRefused", "ChargesHeld", "DeadLetter"}
"""Event types an operator must act on: their names are shown in red."""


def line(console: Console, record: Record, obj: dict[str, Any]) -> None:
    fields = {k: v for k, v in obj.items() if k not in _SKIP and v is not None}
    key = (record.key or b"").decode(errors="replace")
    name = obj.get("event_type", "?")
    style = "bold red" if name in _ALARMING else "bold"
    console.print(
        f"[dim]{obj.get('occurred_at', '')}[/] [{style}]{name}[/] "
        f"[cyan]{key}[/] {json.dumps(fields, separators=(',', ':'))}",
        soft_wrap=True,
        highlight=False,
    )


def stream_line(console: Console, record: Record, obj: dict[str, Any], several: bool) -> None:
    """A line of `pkgctl tail`: when the record was written, its topic (of several), its type,
    key and fields."""
    from pkgctl.streams import when

    fields = {k: v for k, v in obj.items() if k not in _SKIP and v is not None}
    key = (record.key or b"").decode(errors="replace")
    name = obj.get("event_type", "?" if obj else "(not JSON)")
    style = "bold red" if name in _ALARMING else "bold"
    where = f"[blue]{escape(record.topic)}[/] " if several else ""
    at = when(record) or obj.get("occurred_at", "")
    console.print(
        f"[dim]{at}[/] {where}[{style}]{escape(str(name))}[/] [cyan]{escape(key)}[/] "
        + escape(json.dumps(fields, separators=(",", ":"))),
        soft_wrap=True,
        highlight=False,
    )


def dead_letters(console: Console, letters: list[dict[str, Any]]) -> None:
    table = new_table(title=f"{len(letters)} dead letter(s)")
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
