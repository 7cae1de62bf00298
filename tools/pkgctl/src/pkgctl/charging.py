"""The commands pkgctl sends to the charger and the allowance: ticks, releases, rated calls,
package runs. The contract's models are imported where a command is built: `pkgctl --help`
does not load them."""

from __future__ import annotations

import json
import sys
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from pkgctl import api, render
from pkgctl.cli import Options, Timeout, Wait, app, emit_json, err, fail, out, run
from pkgctl.resend import CommandId, Ids
from pkgctl.sending import build, deliver, send_and_report


@app.command()
def tick(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option(help="RFC 3339 instant, default: now")] = None,
    tick_id: Annotated[str | None, typer.Option(help="default: a new UUID")] = None,
    command_id: CommandId = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until every charge it made due is published")
    ] = False,
    timeout: Timeout = 60.0,
) -> None:
    """Send a clock tick (the charger charges what it makes due). With --wait, return once the
    charger says ChargesSettled for it (exit 1 on timeout: a tick not later than the
    charger's clock changes nothing and is never settled), or exit 1 explaining why when the
    charger refuses it (TickRefused: more than its CLOCK_MAX_AHEAD_SECONDS, default a day,
    after its wall clock)."""
    from pkgcontract.messages import ClockTicked

    instant = at or datetime.now(UTC).isoformat()
    ids = Ids.choose(ctx, command_id, tick_id=tick_id or str(uuid.uuid4()), at=instant)
    message = build(
        ClockTicked, event_id=ids.command_id, tick_id=ids.carried["tick_id"], at=instant
    )
    if wait and not ids.given:
        charger_at = charger_clock()
        if charger_at is not None and message.at <= charger_at:  # type: ignore[attr-defined]
            raise fail(
                f"not sent: the charger's clock is at {charger_at.isoformat()}, and a tick not "
                "later than it is ignored (it changes nothing and is never settled)",
                1,
            )
    # A refused tick is answered on charger.events (docs/contract.md §4 ClockTicked).
    outcome = deliver("clock", message, wait, timeout, ids)
    refused = outcome is not None and outcome.get("event_type") == "TickRefused"
    sent = json.loads(message.to_json())["at"]
    if Options.json:
        emit_json(
            {
                "tick": json.loads(message.to_json()),
                "settled": None if refused else outcome,
                "refused": outcome if refused else None,
            }
        )
    elif refused:
        render.tick_refused(err, outcome)
    else:
        out.print(
            f"sent ClockTicked at {sent}"
            + ("; every charge it made due is published" if wait else "")
        )
        tick_at: datetime = message.at  # type: ignore[attr-defined]
        ahead = tick_at.replace(microsecond=0) - datetime.now(UTC).replace(microsecond=0)
        if not wait and ahead > FAR_AHEAD:
            err.print(
                f"[bold yellow]note:[/] this tick is {ahead} ahead of this machine's clock; a "
                "charger refuses a tick more than its CLOCK_MAX_AHEAD_SECONDS (default a day) "
                "ahead of its wall clock (TickRefused; --wait shows it)"
            )
    if refused:
        raise typer.Exit(1)


FAR_AHEAD = timedelta(days=1)
"""The charger's default CLOCK_MAX_AHEAD_SECONDS: a tick further ahead may be refused."""


def charger_clock() -> datetime | None:
    """The charger's clock from its read API (None when it has none or does not answer)."""
    try:
        found = api.get("charger", "/clock")
    except api.ApiUnreachable:
        return None
    at = (found or {}).get("tick_at")
    return datetime.fromisoformat(at) if at else None


@app.command()
def release(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="the held assignment's customer")],
    assignment_id: Annotated[str, typer.Argument(help="the held assignment")],
    command_id: CommandId = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Release an assignment the catch-up limit held (ChargesHeld): the next tick makes
    everything due for it, in order."""
    from pkgcontract.messages import ReleaseHeldCharges

    ids = Ids.choose(ctx, command_id)
    message = build(
        ReleaseHeldCharges,
        event_id=ids.command_id,
        customer_id=customer,
        assignment_id=assignment_id,
    )
    send_and_report(customer, message, wait, timeout, ids)


@app.command()
def usage(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option()],
    destination: Annotated[str, typer.Option(help="the number called, digits")],
    seconds: Annotated[int, typer.Option(help="the call's duration")],
    amount: Annotated[str, typer.Option(help="the call's rated amount, e.g. 0.600000")],
    currency: Annotated[str, typer.Option()],
    did: Annotated[str | None, typer.Option(help="the calling DID")] = None,
    at: Annotated[
        str | None, typer.Option(help="when it occurred (RFC 3339), default: now")
    ] = None,
    usage_id: Annotated[str | None, typer.Option(help="default: a new UUID")] = None,
    command_id: CommandId = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="wait until free minutes covered it (FreeMinutesUsed)")
    ] = False,
    timeout: Timeout = 60.0,
) -> None:
    """Send a rated call (UsageRated), for trying the allowance service by hand. It is applied
    once the charger has settled a tick after it (docs/contract.md §6); with --wait, print the
    FreeMinutesUsed (only sent when free minutes cover at least a second)."""
    from pkgcontract.messages import UsageRated

    ids = Ids.choose(
        ctx,
        command_id,
        usage_id=usage_id or str(uuid.uuid4()),
        at=at or datetime.now(UTC).isoformat(),
    )
    message = build(
        UsageRated,
        event_id=ids.command_id,
        usage_id=ids.carried["usage_id"],
        customer_id=customer,
        did=did,
        amount=amount,
        currency=currency,
        occurred_at=ids.carried["at"],
        destination=destination,
        duration_seconds=seconds,
    )
    if wait and not _some_grant_covers(message):
        send_and_report(customer, message, False, timeout, ids)
        raise fail(
            "sent; no grant of the customer can cover this call (window, DID, prefix or "
            "seconds left), so the allowance sends nothing for it: not waiting",
            1,
        )
    send_and_report(customer, message, wait, timeout, ids)


def _some_grant_covers(call: Any) -> bool:
    """Whether one of the customer's grants (the allowance's read API) can cover `call` by
    docs/contract.md §6's rule; True when the API does not answer (then pkgctl just waits)."""
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
    ctx: typer.Context,
    customer: Annotated[str, typer.Option()],
    date: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    real: Annotated[
        bool, typer.Option("--real", help="charge for real (default: a simulation, report only)")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="with --real: do not ask for confirmation")
    ] = False,
    lines: Annotated[bool, typer.Option("--lines", help="list every line of the report")] = False,
    request_id: Annotated[str | None, typer.Option(help="default: a new UUID")] = None,
    command_id: CommandId = None,
    timeout: Timeout = 60.0,
) -> None:
    """Simulate (or, with --real, charge) a customer's packages as of the end of a date and
    print the report: a summary per package, every line with --lines. Exit 1 when the charger
    knows no such customer (checked on its read API before anything is sent). --real asks
    for confirmation on a terminal (--yes: do not ask)."""
    from pkgcontract.messages import RunPackage

    simulate = not real
    if real and not yes and sys.stdin.isatty():
        typer.confirm(
            f"charge {customer} for real: every charge due by the end of {date}?", abort=True
        )
    ids = Ids.choose(ctx, command_id, request_id=request_id or str(uuid.uuid4()))
    message = build(
        RunPackage,
        event_id=ids.command_id,
        request_id=ids.carried["request_id"],
        customer_id=customer,
        date=date,
        simulate=simulate,
    )
    if run(_charger_knows(urllib.parse.quote(customer, safe=""))) is None:
        raise fail(f"the charger knows no customer {customer!r}; nothing was sent", 1)
    report = deliver(customer, message, True, timeout, ids)
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
