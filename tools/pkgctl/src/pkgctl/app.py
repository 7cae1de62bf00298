"""pkgctl: the operator's command line. Every command is checked against the contract's models
before anything is sent; commands then wait for their outcome on the matching event topic.

Exit codes: 0 done, 1 rejected, unknown or timed out, 2 bad input.
Environment: KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:9092), TOPIC_PREFIX (default empty);
ASSIGNMENT_API, CHARGER_API, ALLOWANCE_API (the read APIs, default 127.0.0.1:8082-8084).
Every command it sends carries a new correlation_id, which the events it causes carry too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import urllib.parse
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from rich.console import Console

from pkgctl import api, broker, render
from pkgshared import topics
from pkgshared.messages import (
    AssignPackage,
    ChangeAssignment,
    ClockTicked,
    DefinePackage,
    EndAssignment,
    Message,
    ReleaseHeldCharges,
    RetirePackage,
    RunPackage,
    SetSpendLimit,
    UsageRated,
    field_errors,
    natural_event_id,
)
from pkgshared.messages.reading import TOPIC_MESSAGES
from pkgshared.topic_io import TopicMissing, WaitTimedOut

app = typer.Typer(help=__doc__, no_args_is_help=True)
dlq_app = typer.Typer(help="Inspect and replay dead letters.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
# Piped output is not cut at 80 columns (rich's default without a terminal).
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
out = Console(width=_WIDTH)
err = Console(stderr=True, width=_WIDTH)


class Options:
    json = False


@app.callback()
def options(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what comes back as JSON, for scripts.")
    ] = False,
) -> None:
    Options.json = as_json


def emit_json(obj: Any) -> None:
    print(json.dumps(obj, default=str))


Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the outcome.")]
Timeout = Annotated[float, typer.Option(help="Seconds to wait for the outcome.")]


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def build(model: type[Message], keep_none: frozenset[str] = frozenset(), **fields: Any) -> Message:
    """The message, or exit 2 naming every field that is wrong. Options left out (None) are
    left out of the message, except those in `keep_none` (an explicit null)."""
    fields.setdefault("correlation_id", str(uuid.uuid4()))
    try:
        return model.model_validate(
            {k: v for k, v in fields.items() if v is not None or k in keep_none}
        )
    except ValidationError as exc:
        lines = [
            f"  {_flag(e.field)}: {_plain(e.field, e.message)}"
            for e in field_errors(exc.errors(include_url=False))
        ]
        raise fail(f"invalid {model.TYPE}:\n" + "\n".join(lines), 2) from None


FLAGS = {
    "package_id": "PACKAGE_ID / --package",
    "customer_id": "--customer",
    "start_date": "--start",
    "end_date": "--end",
    "frequency_match": "--match",
    "destination_prefixes": "--prefix",
    "notify_at_percent": "--notify-at",
    "monthly_limit": "--limit",
    "at": "--at",
    "assignment_id": "ASSIGNMENT_ID",
}
"""The option (or argument) that sets each field, where it is not --<field with dashes>."""

SHAPES = {
    "package_id": "1 to 64 letters, digits, '_', '.' or '-'",
    "customer_id": "1 to 64 characters, no control characters",
    "did": "6 to 15 digits (E.164 without '+')",
    "currency": "an ISO 4217 code: 3 capital letters",
    "destination_prefixes": "1 to 15 digits each",
    "name": "text without control characters",
}
"""What a field's pattern asks, in words (pydantic says it with the regular expression)."""


def _flag(field: str) -> str:
    if not field:
        return "(command)"
    top, _, rest = field.partition(".")
    flag = FLAGS.get(top, "--" + top.replace("_", "-"))
    return f"{flag} (item {int(rest) + 1})" if rest.isdigit() else flag


def _plain(field: str, message: str) -> str:
    top = field.partition(".")[0]
    if "should match pattern" in message and top in SHAPES:
        return f"must be {SHAPES[top]}"
    return message


def run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except api.ApiUnreachable as exc:
        raise fail(str(exc), 1) from None
    except TopicMissing as exc:
        raise fail(
            f"{exc} (is the system up? KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap()})", 1
        ) from None
    except WaitTimedOut:
        raise fail("no outcome arrived in time; the command was sent", 1) from None
    except (OSError, KafkaError) as exc:
        raise fail(f"cannot reach Kafka at {broker.bootstrap()}: {exc}", 1) from None


ANSWERS = {
    topics.CATALOG_COMMANDS: topics.CATALOG_PACKAGES,
    topics.ASSIGNMENT_COMMANDS: topics.ASSIGNMENT_EVENTS,
    topics.CHARGER_COMMANDS: topics.CHARGER_EVENTS,
    topics.USAGE_RATED: topics.FREE_MINUTES_USED,
}
"""Where the outcome of what pkgctl sends (or its rejection) is published."""


def send_and_report(key: str, message: Message, wait: bool, timeout: float, **success: Any) -> None:
    """Send `message` to its command topic, keyed `key`; with `wait`, print the event that
    answers it, the first on the topic's answers matching `success` (exit 1 if rejected)."""
    topic = next(t for t, types in TOPIC_MESSAGES.items() if type(message) in types)
    answers = ANSWERS[topic] if wait else None
    outcome = run(broker.send(topic, key, message, answers, timeout, success))
    if outcome is None:
        if Options.json:
            emit_json(json.loads(message.to_json()))
        else:
            out.print(
                f"sent {message.TYPE} {message.event_id} (correlation_id {message.correlation_id})"
            )
        return
    rejected = outcome.get("event_type") == "CommandRejected"
    if Options.json:
        emit_json(outcome)
    elif rejected:
        render.rejection(err, outcome)
    else:
        render.event(out, outcome)
    if rejected:
        raise typer.Exit(1)


Customer = Annotated[
    str | None,
    typer.Option(
        help="the assignment's customer; found from the assignment service when left out, "
        "and checked against it when given"
    ),
]


def customer_of(assignment_id: str, given: str | None) -> str:
    """The assignment's customer (its commands' key), from the assignment service's read API:
    a command keyed by the wrong customer would land on another partition than that
    customer's other commands, and be ordered against them by nothing."""
    try:
        uuid.UUID(assignment_id)
    except ValueError:
        raise fail(f"assignment_id {assignment_id!r} is not a UUID", 2) from None
    try:
        found = api.get("assignment", f"/assignments/{assignment_id}")
    except api.ApiUnreachable as exc:
        if given is None:
            raise fail(f"{exc}; or give --customer", 1) from None
        err.print(f"[yellow]warning:[/] could not check --customer {given}: {exc}")
        return given
    if found is None:
        raise fail(f"the assignment service knows no assignment {assignment_id}", 1)
    if given is not None and given != found["customer_id"]:
        raise fail(
            f"assignment {assignment_id} belongs to customer {found['customer_id']!r}, "
            f"not {given!r}",
            2,
        )
    return str(found["customer_id"])


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
def packages() -> None:
    """The catalog: every package with its latest version (the catalog's read API)."""
    found = api.pages("catalog", "/packages") or {"items": []}
    if Options.json:
        emit_json(found["items"])
    else:
        render.packages(out, found["items"])


@app.command()
def package(
    package_id: Annotated[str, typer.Argument(help="the package to show")],
) -> None:
    """One package with every version (the catalog's read API)."""
    found = api.get("catalog", f"/packages/{urllib.parse.quote(package_id, safe='')}")
    if found is None:
        raise fail(f"the catalog knows no package {package_id!r}", 1)
    if Options.json:
        emit_json(found)
    else:
        render.package(out, found)


@app.command()
def retire(package_id: str, wait: Wait = True, timeout: Timeout = 30.0) -> None:
    """Retire a package: no new assignments; existing ones run until they end."""
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
    settled = run(broker.send(topics.CLOCK_TICKS, "clock", message, answers, timeout, success))
    sent = json.loads(message.to_json())["at"]
    if Options.json:
        emit_json({"tick": json.loads(message.to_json()), "settled": settled})
        return
    out.print(
        f"sent ClockTicked at {sent}" + ("; every charge it made due is published" if wait else "")
    )


@app.command()
def release(
    customer: Annotated[str, typer.Argument(help="the held assignment's customer")],
    assignment_id: Annotated[str, typer.Argument(help="the held assignment")],
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Release an assignment the catch-up limit held (ChargesHeld): the next tick makes
    everything due for it, in order."""
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
def clock() -> None:
    """Where time stands: the latest tick sent, the charger's clock (its latest ChargesSettled)
    and the wall clock; warns when the charger's clock is ahead of the wall clock, since ticks
    before it then change nothing."""
    state = run(broker.clock())
    if Options.json:
        emit_json({"latest_tick": state.latest_tick, "settled": state.settled, "now": state.now})
        return
    render.clock(out, state)
    if state.ahead_by is not None:
        err.print(render.clock_warning(state))


@app.command()
def customer(
    customer_id: Annotated[str, typer.Argument(help="the customer to show")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
    from_: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First period (default: this month)."),
    ] = None,
    to: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last period (default: the charger's date)."),
    ] = None,
    lines: Annotated[int, typer.Option(help="Charges to list (the latest).")] = 20,
) -> None:
    """A customer at a glance, from the services' read APIs: assignments (with how often each
    changed), spend limit, this month's charges and totals, declined and held periods, and
    free minutes. Exit 1 when no service knows the customer."""
    view = run(
        api.customer(customer_id, from_.date() if from_ else None, to.date() if to else None)
    )
    if not view.known:
        raise fail(f"no service knows customer {customer_id!r}", 1)
    if as_json or Options.json:
        emit_json(view.as_dict())
    else:
        render.customer(out, view, lines)


@app.command()
def allowances(
    customer: Annotated[str, typer.Argument(help="the customer whose grants to show")],
) -> None:
    """A customer's free minutes: each grant's prefixes, DID, window, seconds granted, used
    and remaining, status and alert percents reached (the allowance service's read API;
    billing.allowance-balances when it does not answer)."""
    try:
        path = f"/customers/{urllib.parse.quote(customer, safe='')}/allowances"
        found = api.pages("allowance", path, "grants")
        balances = [] if found is None else found["grants"]["items"]
    except api.ApiUnreachable:
        balances = run(broker.allowances(customer))
    if Options.json:
        emit_json(balances)
    else:
        render.allowances(out, customer, balances)


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


def _charger_clock() -> datetime | None:
    """The charger's clock from its read API (None when it has none or does not answer)."""
    try:
        found = api.get("charger", "/clock")
    except api.ApiUnreachable:
        return None
    at = (found or {}).get("tick_at")
    return datetime.fromisoformat(at) if at else None


async def _charger_knows(quoted_customer: str) -> Any:
    return await asyncio.to_thread(
        api.get, "charger", f"/customers/{quoted_customer}/charges", limit=1
    )


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="a contract topic, e.g. billing.credit-debited")],
    customer: Annotated[str | None, typer.Option(help="only this customer")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep reading")] = False,
    raw: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    last: Annotated[
        int | None, typer.Option(min=1, help="start at each partition's last N messages")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="start at messages written since this RFC 3339 instant or date"),
    ] = None,
) -> None:
    """Print a topic's messages from the beginning, or each partition's last N, or those
    written since a time (and, with --follow, as they come)."""
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise fail(f"--since {since!r} is not an RFC 3339 instant or a date", 2) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
    if last is not None and start is not None:
        raise fail("give --last or --since, not both", 2)
    if topic not in {t.name for t in topics.TOPICS}:
        raise fail(
            f"unknown topic {topic!r}; one of: {', '.join(t.name for t in topics.TOPICS)}", 2
        )

    def show(record: Any) -> None:
        obj = broker.as_json(record)
        if customer and record.key != customer.encode() and obj.get("customer_id") != customer:
            return
        if raw or Options.json:
            print(json.dumps(obj))
        else:
            render.line(out, record, obj)

    with contextlib.suppress(KeyboardInterrupt):
        run(broker.tail(topic, show, follow, last, start))


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[str, typer.Argument(help="the source topic, e.g. catalog.commands")],
) -> None:
    """List the dead letters of a topic."""
    letters = run(broker.dead_letters(_dlq_source(topic)))
    if Options.json:
        emit_json(letters)
    else:
        render.dead_letters(out, letters)


@dlq_app.command("show")
def dlq_show(
    topic: str, offset: Annotated[int, typer.Argument(help="offset in the .dlq topic")]
) -> None:
    """Show one dead letter with its original bytes."""
    letter = _one_letter(topic, offset)
    if Options.json:
        emit_json(letter)
    else:
        render.dead_letter(out, letter)


@dlq_app.command("replay")
def dlq_replay(
    topic: str,
    offsets: Annotated[list[int], typer.Argument(help="offsets in the .dlq topic")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="field=value to change in the JSON message first (a field that holds text "
            "keeps text; otherwise the value is read as JSON when it is JSON); repeat",
        ),
    ] = None,
    timeout: Timeout = 30.0,
) -> None:
    """Send dead letters' messages to their source topic again, with their keys (so the same
    partition as their keys' other messages) and event_type headers; --set fixes fields
    first. Waits for what becomes of each (dead-lettered again, rejected, or answered) and
    exits 1 unless every one was answered. A letter holding only the start of a message
    larger than 256 KiB is refused."""
    letters = run(broker.dead_letters(_dlq_source(topic)))
    by_offset = {x["_offset"]: x for x in letters}
    missing = [o for o in offsets if o not in by_offset]
    if missing:
        raise fail(f"no dead letter at offset(s) {missing} of {topic}.dlq", 1)
    changes = _assignments(set_ or [])
    results = []
    for offset in offsets:
        letter = by_offset[offset]
        try:
            payload, headers = broker.replayable(letter, changes)
        except ValueError as exc:
            raise fail(f"offset {offset}: {exc}", 2) from None
        outcome, detail = run(broker.replay(letter, payload, headers, timeout))
        results.append({"offset": offset, "outcome": outcome, "detail": detail})
        if not Options.json:
            (out if outcome == "handled" else err).print(
                f"{topic}.dlq offset {offset} replayed to {letter['source_topic']}: "
                f"{outcome} ({detail})"
            )
    if Options.json:
        emit_json(results)
    if any(r["outcome"] != "handled" for r in results):
        raise typer.Exit(1)


def _assignments(pairs: list[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise fail(f"--set wants field=value, not {pair!r}", 2)
        try:
            changes[name] = json.loads(value)
        except ValueError:
            changes[name] = value
    return changes


def _dlq_source(topic: str) -> str:
    if topic.endswith(topics.DLQ_SUFFIX):
        topic = topic[: -len(topics.DLQ_SUFFIX)]
    if topic not in topics.CONSUMED_TOPICS:
        raise fail(
            f"{topic!r} has no dead-letter topic; one of: {', '.join(topics.CONSUMED_TOPICS)}", 2
        )
    return topic


def _one_letter(topic: str, offset: int) -> dict[str, Any]:
    letters = run(broker.dead_letters(_dlq_source(topic)))
    found = [x for x in letters if x["_offset"] == offset]
    if not found:
        raise fail(f"no dead letter at offset {offset} of {topic}.dlq", 1)
    return found[0]


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app()
