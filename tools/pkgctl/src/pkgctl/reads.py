"""What pkgctl shows: the catalog, a customer at a glance, free minutes, the clock, a topic.
Through the services' read APIs where they have one (quick); Kafka otherwise."""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from datetime import UTC, datetime
from typing import Annotated

import typer

from pkgctl import api, profiles, render, views
from pkgctl.cli import Options, app, emit_json, err, fail, out, run


@app.command()
def packages() -> None:
    """The catalog: every package with its latest version (the catalog's read API)."""
    found = api.pages("catalog", "/packages") or {"items": []}
    if Options.json:
        emit_json(found["items"])
    else:
        views.packages(out, found["items"])


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
        views.package(out, found)


@app.command()
def clock(
    sent: Annotated[
        bool, typer.Option("--sent", help="also read the latest tick sent from clock.ticks")
    ] = False,
) -> None:
    """Where time stands: the charger's clock (the latest tick it accepted, from its read
    API; its latest ChargesSettled from Kafka when the API does not answer), the wall clock
    and, with --sent, the latest tick sent; warns when the charger's clock is ahead of the
    wall clock, since ticks before it then change nothing."""
    from pkgctl.clock import Clock

    state = None
    if not sent:
        with contextlib.suppress(api.ApiUnreachable):
            found = api.get("charger", "/clock") or {}
            at = found.get("tick_at")
            settled = {"at": at, "tick_id": found.get("tick_id")} if at else None
            state = Clock(latest_tick=None, settled=settled, now=datetime.now(UTC))
    if state is None:
        from pkgctl import broker

        state = run(broker.clock())
    if Options.json:
        emit_json({"latest_tick": state.latest_tick, "settled": state.settled, "now": state.now})
        return
    out.print(profiles.chosen().describe(), highlight=False, markup=False)
    render.clock(out, state, sent=state.latest_tick is not None or sent)
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
    month: Annotated[
        str | None,
        typer.Option(
            help="YYYY-MM: that month's charges and totals (default: the charger's month)."
        ),
    ] = None,
) -> None:
    """A customer at a glance, from the services' read APIs: assignments (with how often each
    changed), spend limit, a month's charges (each with its assignment) and totals (gross,
    credited, net), declined and held periods (with why), and free minutes. Exit 1 when no
    service knows the customer."""
    if month is not None and not _is_month(month):
        raise fail(f"--month {month!r}: expected YYYY-MM (1900-01 to 2999-12)", 2)
    view = run(
        api.customer(customer_id, from_.date() if from_ else None, to.date() if to else None, month)
    )
    if not view.known:
        raise fail(f"no service knows customer {customer_id!r}", 1)
    if as_json or Options.json:
        emit_json(view.as_dict())
    else:
        out.print(profiles.chosen().describe(), highlight=False, markup=False)
        views.customer(out, view, lines)


def _is_month(text: str) -> bool:
    found = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)
    return found is not None and 1900 <= int(found[1]) <= 2999 and 1 <= int(found[2]) <= 12


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
        from pkgctl import broker

        balances = run(broker.allowances(customer))
    if Options.json:
        emit_json(balances)
    else:
        views.allowances(out, customer, balances)
