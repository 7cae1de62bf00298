"""The commands pkgctl sends: packages, assignments, spend limits, ticks, runs, releases,
calls. The contract's models are imported where a command is built: `pkgctl --help` does not
load them."""

from __future__ import annotations

import json
import sys
import urllib.parse
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pkgctl import api, render
from pkgctl.cli import Customer, Options, Timeout, Wait, app, emit_json, err, fail, out, run
from pkgctl.sending import build, customer_of, send_and_report
from pkgshared import topics

if TYPE_CHECKING:
    from pkgshared.messages import Message


@app.command()
def define(
    package_id: str,
    name: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option(help="recurring, free_minutes or minimum_spend")],
    retail: Annotated[str, typer.Option(help="per period, e.g. 5.00")],
    currency: Annotated[str, typer.Option()],
    frequency: Annotated[str, typer.Option(help="daily, weekly, monthly or yearly")],
    match: Annotated[list[str] | None, typer.Option(help="repeat: 15 --match 31, or 02-29")] = None,
    free_minutes: Annotated[int | None, typer.Option()] = None,
    prefix: Annotated[list[str] | None, typer.Option(help="destination prefix, repeat")] = None,
    cost: Annotated[str | None, typer.Option()] = None,
    setup_retail: Annotated[str | None, typer.Option()] = None,
    setup_cost: Annotated[str | None, typer.Option()] = None,
    minimum_days: Annotated[int | None, typer.Option()] = None,
    notice_days: Annotated[
        int | None, typer.Option(help="ChargeUpcoming this many days ahead (0-365)")
    ] = None,
    proration: Annotated[
        str | None, typer.Option(help="none (default) or daily: part-periods charged by the day")
    ] = None,
    notify_at: Annotated[
        list[int] | None,
        typer.Option("--notify-at", help="free minutes: alert at this percent of use, repeat"),
    ] = None,
    description: Annotated[str | None, typer.Option()] = None,
    effective_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Define a package, or a new version of it (a new version that leaves out what the
    previous one had is said so before it is sent)."""
    from pkgshared.messages import DefinePackage

    frequency_match: list[int | str] = [int(m) if m.isdigit() else m for m in match or []]
    message = build(
        DefinePackage,
        package_id=package_id,
        name=name,
        kind=kind,
        retail=retail,
        currency=currency,
        frequency=frequency,
        frequency_match=frequency_match,
        free_minutes=free_minutes,
        destination_prefixes=prefix,
        cost=cost,
        setup_retail=setup_retail,
        setup_cost=setup_cost,
        minimum_days=minimum_days,
        notice_days=notice_days,
        proration=proration,
        notify_at_percent=notify_at,
        description=description,
        effective_from=effective_from,
    )
    for line in _left_out(package_id, message):
        err.print(line)
    send_and_report(
        package_id,
        message,
        wait,
        timeout,
        event_type="PackageDefined",
        package_id=package_id,
    )


REDEFINED = (
    "cost",
    "setup_retail",
    "setup_cost",
    "free_minutes",
    "destination_prefixes",
    "minimum_days",
    "notice_days",
    "description",
    "notify_at_percent",
)
"""What a new version may leave out that the previous version had."""


def _left_out(package_id: str, message: Message) -> list[str]:
    """Warnings for what the package's latest version had and this definition leaves out
    (from the catalog's read API; nothing when it does not answer or the package is new)."""
    try:
        found = api.get("catalog", f"/packages/{urllib.parse.quote(package_id, safe='')}")
    except api.ApiUnreachable:
        return []
    if not found or not found.get("versions"):
        return []
    latest = found["versions"][-1]
    new = json.loads(message.to_json())
    return [
        f"note: version {latest['version']} had {name} = {latest[name]!r}; the new version "
        "leaves it out (pass it again to keep it)"
        for name in REDEFINED
        if latest.get(name) not in (None, [], "") and new.get(name) in (None, [], "")
    ]


@app.command()
def retire(package_id: str, wait: Wait = True, timeout: Timeout = 30.0) -> None:
    """Retire a package: no new assignments; existing ones run until they end."""
    from pkgshared.messages import RetirePackage

    message = build(RetirePackage, package_id=package_id)
    send_and_report(
        package_id,
        message,
        wait,
        timeout,
        event_type="PackageRetired",
        package_id=package_id,
    )


@app.command()
def assign(
    customer: Annotated[str, typer.Option()],
    package: Annotated[str, typer.Option()],
    start: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    quantity: Annotated[int, typer.Option()] = 1,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD, inclusive")] = None,
    did: Annotated[str | None, typer.Option(help="E.164 digits, no +")] = None,
    auto_decrement: Annotated[bool, typer.Option("--auto-decrement/--no-auto-decrement")] = True,
    free_minutes: Annotated[int | None, typer.Option()] = None,
    timezone: Annotated[str, typer.Option()] = "UTC",
    assignment_id: Annotated[str | None, typer.Option(help="default: a new UUID")] = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Assign a package to a customer (or to one of its DIDs)."""
    from pkgshared.messages import AssignPackage

    aid = assignment_id or str(uuid.uuid4())
    message = build(
        AssignPackage,
        assignment_id=aid,
        customer_id=customer,
        did=did,
        package_id=package,
        quantity=quantity,
        start_date=start,
        end_date=end,
        auto_decrement_credit=auto_decrement,
        free_minutes=free_minutes,
        timezone=timezone,
    )
    send_and_report(
        customer,
        message,
        wait,
        timeout,
        event_type="PackageAssigned",
        assignment_id=aid,
    )


@app.command()
def change(
    assignment_id: str,
    customer: Customer = None,
    quantity: Annotated[int | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD, or 'none' to remove")] = None,
    auto_decrement: Annotated[
        bool | None, typer.Option("--auto-decrement/--no-auto-decrement")
    ] = None,
    free_minutes: Annotated[int | None, typer.Option()] = None,
    effective_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Change an assignment from a date on."""
    from pkgshared.messages import ChangeAssignment

    if quantity is None and end is None and auto_decrement is None and free_minutes is None:
        raise fail(
            "nothing to change: give --quantity, --end, --[no-]auto-decrement or --free-minutes", 2
        )
    remove_end = end is not None and end.lower() == "none"
    message = build(
        ChangeAssignment,
        keep_none=frozenset({"end_date"}) if remove_end else frozenset(),
        assignment_id=assignment_id,
        quantity=quantity,
        end_date=None if remove_end else end,
        auto_decrement_credit=auto_decrement,
        free_minutes=free_minutes,
        effective_from=effective_from,
    )
    send_and_report(
        customer_of(assignment_id, customer),
        message,
        wait,
        timeout,
        event_type="AssignmentChanged",
        assignment_id=assignment_id,
    )


@app.command()
def end(
    assignment_id: str,
    customer: Customer = None,
    date: Annotated[
        str | None, typer.Option("--end", "--date", help="last day (YYYY-MM-DD), default: today")
    ] = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """End an assignment (--end, as `assign` and `change` take it)."""
    from pkgshared.messages import EndAssignment

    message = build(EndAssignment, assignment_id=assignment_id, end_date=date)
    send_and_report(
        customer_of(assignment_id, customer),
        message,
        wait,
        timeout,
        event_type="AssignmentEnded",
        assignment_id=assignment_id,
    )


@app.command("spend-limit")
def spend_limit(
    customer: Annotated[str, typer.Option()],
    limit: Annotated[str, typer.Option(help="per calendar month, or 'none' to remove")],
    currency: Annotated[str, typer.Option()],
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Set (or remove) a customer's monthly spend limit."""
    from pkgshared.messages import SetSpendLimit

    message = build(
        SetSpendLimit,
        keep_none=frozenset({"monthly_limit"}),
        customer_id=customer,
        monthly_limit=None if limit.lower() == "none" else limit,
        currency=currency,
    )
    send_and_report(
        customer,
        message,
        wait,
        timeout,
        event_type="SpendLimitSet",
        customer_id=customer,
    )


@app.command()
def tick(
    at: Annotated[str | None, typer.Option(help="RFC 3339 instant, default: now")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until every charge it made due is published")
    ] = False,
    timeout: Timeout = 60.0,
) -> None:
    """Send a clock tick (the charger charges what it makes due). With --wait, return once the
    charger says ChargesSettled for it (exit 1 on timeout: a tick not later than the
    charger's clock changes nothing and is never settled)."""
    from pkgshared.messages import ClockTicked

    instant = at or datetime.now(UTC).isoformat()
    tick_id = str(uuid.uuid4())
    message = build(ClockTicked, tick_id=tick_id, at=instant)
    if wait:
        charger_at = _charger_clock()
        if charger_at is not None and message.at <= charger_at:  # type: ignore[attr-defined]
            raise fail(
                f"not sent: the charger's clock is at {charger_at.isoformat()}, and a tick not "
                "later than it is ignored (it changes nothing and is never settled)",
                1,
            )
    answers = topics.CHARGER_PROGRESS if wait else None
    success = {"event_type": "ChargesSettled", "tick_id": tick_id}
    from pkgctl import broker

    settled = run(broker.send(topics.CLOCK_TICKS, "clock", message, answers, timeout, success))
    sent = json.loads(message.to_json())["at"]
    if Options.json:
        emit_json({"tick": json.loads(message.to_json()), "settled": settled})
        return
    out.print(
        f"sent ClockTicked at {sent}" + ("; every charge it made due is published" if wait else "")
    )


def _charger_clock() -> datetime | None:
    """The charger's clock from its read API (None when it has none or does not answer)."""
    try:
        found = api.get("charger", "/clock")
    except api.ApiUnreachable:
        return None
    at = (found or {}).get("tick_at")
    return datetime.fromisoformat(at) if at else None


@app.command()
def release(
    customer: Annotated[str, typer.Argument(help="the held assignment's customer")],
    assignment_id: Annotated[str, typer.Argument(help="the held assignment")],
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Release an assignment the catch-up limit held (ChargesHeld): the next tick makes
    everything due for it, in order."""
    from pkgshared.messages import ReleaseHeldCharges, natural_event_id

    message = build(ReleaseHeldCharges, customer_id=customer, assignment_id=assignment_id)
    send_and_report(
        customer,
        message,
        wait,
        timeout,
        event_type="ChargesReleased",
        event_id=str(natural_event_id(f"released:{message.event_id}")),
    )


@app.command()
def usage(
    customer: Annotated[str, typer.Option()],
    destination: Annotated[str, typer.Option(help="the number called, digits")],
    seconds: Annotated[int, typer.Option(help="the call's duration")],
    amount: Annotated[str, typer.Option(help="the call's rated amount, e.g. 0.600000")],
    currency: Annotated[str, typer.Option()],
    did: Annotated[str | None, typer.Option(help="the calling DID")] = None,
    at: Annotated[
        str | None, typer.Option(help="when it occurred (RFC 3339), default: now")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until free minutes covered it (FreeMinutesUsed)")
    ] = False,
    timeout: Timeout = 60.0,
) -> None:
    """Send a rated call (UsageRated), for trying the allowance service by hand. It is applied
    once the charger has settled a tick after it (CONTRACT.md §6); with --wait, print the
    FreeMinutesUsed (only sent when free minutes cover at least a second)."""
    from pkgshared.messages import UsageRated

    usage_id = str(uuid.uuid4())
    message = build(
        UsageRated,
        usage_id=usage_id,
        customer_id=customer,
        did=did,
        amount=amount,
        currency=currency,
        occurred_at=at or datetime.now(UTC).isoformat(),
        destination=destination,
        duration_seconds=seconds,
    )
    if wait and not _some_grant_covers(message):
        send_and_report(customer, message, False, timeout)
        raise fail(
            "sent; no grant of the customer can cover this call (window, DID, prefix or "
            "seconds left), so the allowance sends nothing for it: not waiting",
            1,
        )
    send_and_report(
        customer,
        message,
        wait,
        timeout,
        event_type="FreeMinutesUsed",
        usage_id=usage_id,
    )


def _some_grant_covers(call: Any) -> bool:
    """Whether one of the customer's grants (the allowance's read API) can cover `call` by
    CONTRACT.md §6's rule; True when the API does not answer (then pkgctl just waits)."""
    quoted = urllib.parse.quote(call.customer_id, safe="")
    try:
        found = api.pages("allowance", f"/customers/{quoted}/allowances", "grants")
    except api.ApiUnreachable:
        return True
    for g in (found or {}).get("grants", {}).get("items", []):
        prefixes = g["destination_prefixes"]
        if (
            g["remaining_seconds"] > 0
            and (g["did"] is None or g["did"] == call.did)
            and datetime.fromisoformat(g["valid_from"])
            <= call.occurred_at
            < datetime.fromisoformat(g["valid_until"])
            and (not prefixes or any(call.destination.startswith(p) for p in prefixes))
        ):
            return True
    return False


@app.command("run-package")
def run_package(
    customer: Annotated[str, typer.Option()],
    date: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    real: Annotated[
        bool, typer.Option("--real", help="charge for real (default: a simulation, report only)")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="with --real: do not ask for confirmation")
    ] = False,
    lines: Annotated[bool, typer.Option("--lines", help="list every line of the report")] = False,
    timeout: Timeout = 60.0,
) -> None:
    """Simulate (or, with --real, charge) a customer's packages as of the end of a date and
    print the report: a summary per package, every line with --lines. Exit 1 when the charger
    knows no such customer (checked on its read API before anything is sent). --real asks
    for confirmation on a terminal (--yes: do not ask)."""
    from pkgshared.messages import RunPackage

    simulate = not real
    if real and not yes and sys.stdin.isatty():
        typer.confirm(
            f"charge {customer} for real: every charge due by the end of {date}?", abort=True
        )
    request_id = str(uuid.uuid4())
    message = build(
        RunPackage, request_id=request_id, customer_id=customer, date=date, simulate=simulate
    )
    if run(_charger_knows(urllib.parse.quote(customer, safe=""))) is None:
        raise fail(f"the charger knows no customer {customer!r}; nothing was sent", 1)
    from pkgctl import broker

    report = run(
        broker.send(
            topics.CHARGER_COMMANDS,
            customer,
            message,
            topics.CHARGER_EVENTS,
            timeout,
            {"event_type": "PackageRunReported", "request_id": request_id},
        )
    )
    rejected = report.get("event_type") == "CommandRejected"
    if Options.json:
        emit_json(report)
    elif rejected:
        render.rejection(err, report)
    else:
        render.run_report(out, report, lines)
        if real:
            charged = [line for line in report.get("lines", []) if line["status"] == "charged"]
            out.print(
                f"charged for real: {len(charged)} charge(s) made now"
                if charged
                else "nothing was charged: everything due was made before (or declined)"
            )
    if rejected:
        raise typer.Exit(1)


async def _charger_knows(quoted_customer: str) -> Any:
    import asyncio

    return await asyncio.to_thread(
        api.get, "charger", f"/customers/{quoted_customer}/charges", limit=1
    )
