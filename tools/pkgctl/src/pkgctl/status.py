"""`pkgctl status`: one screen for the whole system (status_view), `--watch` to follow it;
the fleet lists behind it: `pkgctl held`, `pkgctl declines`, `pkgctl waiting`."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from pkgctl import fleet, status_view
from pkgctl.cli import Options, app, emit_json, fail, out, run


async def _kafka() -> dict[str, Any]:
    """Consumer lag, dead letters and each topic's record count; {error} when Kafka cannot be
    read (the rest of the screen still shows)."""
    from aiokafka.errors import KafkaError

    from pkgctl import groups

    found: dict[str, Any] = {}
    try:
        found["ends"] = await groups.topic_ends()
        found["dead_letters"] = await groups.dead_letter_depths(found["ends"])
    except (KafkaError, OSError, LookupError, AssertionError) as exc:
        return found | {"error": f"cannot read Kafka: {exc or type(exc).__name__}"}
    try:
        found["consumer_lag"] = await groups.consumer_lag()
    except (KafkaError, OSError) as exc:  # e.g. not allowed to describe the services' groups
        found["error"] = f"consumer lag not readable: {exc or type(exc).__name__}"
    return found


async def snapshot() -> tuple[dict[str, Any], dict[str, int]]:
    http, kafka = await asyncio.gather(fleet.gather_http(), _kafka())
    return status_view.summary(http, kafka, datetime.now(UTC)), kafka.get("ends") or {}


@app.command()
def status(
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="refresh in place, with the flow per topic")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.5, help="seconds between refreshes")] = 2.0,
) -> None:
    """The whole system on one screen: which system (profile), each service's health (and
    why not), consumer lag per group and topic, dead letters per topic (how many, the
    newest), outbox backlog and stuck work, held assignments, declines of the charger's
    month, calls waiting for the clock (how many, the oldest customer's), the charger's clock
    against the wall clock, and the problems among these. --json: the same as one object.
    Exit 1 when a service is not healthy."""
    if not watch:
        found, _ = run(snapshot())
        if Options.json:
            emit_json(found)
        else:
            print("\n".join(status_view.lines(found)))
        if any(not s["healthy"] for s in found["services"]):
            raise typer.Exit(1)
        return
    flow = status_view.Flow()
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            started = time.monotonic()
            found, ends = run(snapshot())
            flow.add(started, ends)
            if Options.json:
                emit_json(found | {"flow": flow.now()})
            else:
                screen = "\n".join(status_view.lines(found, flow))
                sys.stdout.write(
                    "\x1b[H\x1b[2J" + screen + "\n" if sys.stdout.isatty() else screen + "\n\n"
                )
                sys.stdout.flush()
            time.sleep(max(0.0, interval - (time.monotonic() - started)))


Limit = Annotated[int, typer.Option(min=1, max=1000, help="most to list")]


def _answer(found: dict[str, Any], what: str) -> dict[str, Any]:
    if "error" in found:
        raise fail(f"{what}: {found['error']}", 1)
    return found


@app.command()
def held(limit: Limit = 100) -> None:
    """Every assignment held (or released and not charged yet), with why (the charger's read
    API); `pkgctl release CUSTOMER ASSIGNMENT` lets one go on."""
    found = _answer(fleet.held(limit), "held assignments")
    if Options.json:
        emit_json(found)
        return
    out.print(f"{found['count']} assignment(s) held", highlight=False)
    for h in found["items"]:
        out.print(
            f"  {h['customer_id']}  {h['assignment_id']}  {h['package_id']}  {h['hold']}  "
            f"charged through {h['charged_through'] or 'nothing'}  why: "
            f"{h['reason'] or 'not recorded'}",
            highlight=False,
            markup=False,
        )
    if found["count"] > len(found["items"]):
        out.print(f"  ... {found['count'] - len(found['items'])} more (--limit)")


@app.command()
def declines(
    month: Annotated[
        str | None, typer.Option(help="YYYY-MM (default: the charger's month)")
    ] = None,
    limit: Limit = 100,
) -> None:
    """Every charge the spend limit declined in a month (the charger's read API)."""
    from pkgctl.reads import _is_month

    if month is not None and not _is_month(month):
        raise fail(f"--month {month!r}: expected YYYY-MM (1900-01 to 2999-12)", 2)
    found = _answer(fleet.declines(month, limit), "declines")
    if Options.json:
        emit_json(found)
        return
    shown = (found["month"] or "")[:7] or "(no tick yet)"
    out.print(f"{found['count']} charge(s) declined in {shown}", highlight=False)
    for d in found["items"]:
        what = d["assignment_id"] or f"top-up {d['topup_id']}"
        out.print(
            f"  {d['period_start']}  {d['customer_id']}  {what}  {d['kind']}  "
            f"{d['amount']} {d['currency']}",
            highlight=False,
            markup=False,
        )
    if found["count"] > len(found["items"]):
        out.print(f"  ... {found['count'] - len(found['items'])} more (--limit)")


@app.command()
def waiting(limit: Limit = 100) -> None:
    """The customers with calls waiting for the charger's clock (held in memory, or parked
    behind a call far ahead of it), oldest call first (the allowance's read API)."""
    found = _answer(fleet.waiting(limit), "calls waiting")
    if Options.json:
        emit_json(found)
        return
    out.print(
        f"{found['calls_waiting']} call(s) waiting for the charger's clock, "
        f"{found['calls_parked']} parked",
        highlight=False,
    )
    for w in found["customers"]:
        out.print(
            f"  {w['customer_id']}  {w['calls']} call(s), oldest {w['oldest_occurred_at']}"
            + ("  parked (a call far past the clock)" if w["parked"] else ""),
            highlight=False,
            markup=False,
        )
