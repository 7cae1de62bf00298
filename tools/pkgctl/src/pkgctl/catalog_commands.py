"""The commands pkgctl sends to the catalog: define a package (or a new version of it) and
retire one. The contract's models are imported where a command is built: `pkgctl --help` does
not load them."""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Annotated

import typer

from pkgctl import api
from pkgctl.cli import Timeout, Wait, app, err
from pkgctl.resend import CommandId, Ids
from pkgctl.sending import build, send_and_report

if TYPE_CHECKING:
    from pkgcontract.messages import Message


@app.command()
def define(
    ctx: typer.Context,
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
    rollover_percent: Annotated[
        int | None, typer.Option(help="free minutes: share that carries over (0-100)")
    ] = None,
    rollover_days: Annotated[int | None, typer.Option(help="days carried minutes last")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    effective_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    command_id: CommandId = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Define a package, or a new version of it (a new version that leaves out what the
    previous one had is said so before it is sent)."""
    from pkgcontract.messages import DefinePackage

    frequency_match: list[int | str] = [int(m) if m.isdigit() else m for m in match or []]
    ids = Ids.choose(ctx, command_id)
    message = build(
        DefinePackage,
        event_id=ids.command_id,
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
        rollover_percent=rollover_percent,
        rollover_days=rollover_days,
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
        ids,
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
    "rollover_days",
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
def retire(
    ctx: typer.Context,
    package_id: str,
    command_id: CommandId = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Retire a package: no new assignments; existing ones run until they end."""
    from pkgcontract.messages import RetirePackage

    ids = Ids.choose(ctx, command_id)
    message = build(RetirePackage, event_id=ids.command_id, package_id=package_id)
    send_and_report(
        package_id,
        message,
        wait,
        timeout,
        ids,
    )
