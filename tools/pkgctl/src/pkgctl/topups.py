"""Top-ups and reversals (docs/contract.md §4 GrantMinutes, UsageReversed): minutes bought or given
once, outside any package, and a rated record withdrawn. The contract's models are imported
where a command is built: `pkgctl --help` does not load them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from pkgctl.charging import charger_clock
from pkgctl.cli import Timeout, Wait, app, err
from pkgctl.resend import CommandId, Ids
from pkgctl.sending import build, send_and_report

DEFAULT_DAYS = 30
"""A top-up's window when --valid-until is left out."""


@app.command()
def topup(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option()],
    minutes: Annotated[int, typer.Option(help="1-1,000,000")],
    valid_from: Annotated[
        str | None, typer.Option(help="RFC 3339 instant it is due and starts; default: now")
    ] = None,
    valid_until: Annotated[
        str | None,
        typer.Option(help=f"RFC 3339 instant it expires; default: {DEFAULT_DAYS} days after"),
    ] = None,
    did: Annotated[str | None, typer.Option(help="the DID it is for")] = None,
    prefix: Annotated[list[str] | None, typer.Option(help="destination prefix, repeat")] = None,
    retail: Annotated[
        str | None, typer.Option(help="its price, e.g. 4.50 (with --currency)")
    ] = None,
    currency: Annotated[str | None, typer.Option()] = None,
    notify_at: Annotated[
        list[int] | None, typer.Option("--notify-at", help="alert at this percent of use, repeat")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="why (up to 200 characters)")] = None,
    topup_id: Annotated[str | None, typer.Option(help="default: a new UUID")] = None,
    command_id: CommandId = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Grant a customer free minutes once, outside any package (GrantMinutes). The charger
    makes it at valid_from: at once when its clock has passed it, else with the first tick
    that reaches it; a priced top-up is first debited, subject to the spend limit. Prints the
    FreeMinutesGranted (or the ChargeDeclined, or the rejection); a top-up due later is not
    waited for (see `pkgctl outcome COMMAND_ID` once a tick has reached it)."""
    from pkgcontract.messages import GrantMinutes

    start = valid_from or datetime.now(UTC).isoformat()
    ids = Ids.choose(ctx, command_id, topup_id=topup_id or str(uuid.uuid4()), valid_from=start)
    until = valid_until
    if until is None:
        try:
            until = (datetime.fromisoformat(start) + timedelta(days=DEFAULT_DAYS)).isoformat()
        except ValueError:
            until = None  # the model names --valid-from
    message = build(
        GrantMinutes,
        event_id=ids.command_id,
        topup_id=ids.carried["topup_id"],
        customer_id=customer,
        did=did,
        minutes=minutes,
        destination_prefixes=prefix,
        valid_from=start,
        valid_until=until,
        retail=retail,
        currency=currency,
        notify_at_percent=notify_at,
        reason=reason,
    )
    if wait:
        clock = charger_clock()
        due: datetime = message.valid_from  # type: ignore[attr-defined]
        if clock is not None and due > clock:
            err.print(
                f"note: due at {due.isoformat()}, after the charger's clock "
                f"({clock.isoformat()}): it is granted by the first tick that reaches it; "
                "not waiting"
            )
            wait = False
    send_and_report(customer, message, wait, timeout, ids)


@app.command()
def reverse(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option()],
    usage_id: Annotated[str, typer.Argument(help="the UsageRated to take back")],
    reversal_id: Annotated[str | None, typer.Option(help="default: a new UUID")] = None,
    command_id: CommandId = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="wait for the allowance's FreeMinutesReturned (only for a call free minutes "
            "covered)",
        ),
    ] = False,
    timeout: Timeout = 10.0,
) -> None:
    """Withdraw a rated record (UsageReversed on usage.rated): it stops counting toward a
    minimum spend not charged yet, and the allowance gives back the free minutes the call used
    (FreeMinutesReturned, docs/contract.md §6). Not waited for by default: a reversal of a call
    that was not covered is answered by nothing."""
    from pkgcontract.messages import UsageReversed

    ids = Ids.choose(ctx, command_id, reversal_id=reversal_id or str(uuid.uuid4()))
    message = build(
        UsageReversed,
        event_id=ids.command_id,
        reversal_id=ids.carried["reversal_id"],
        usage_id=usage_id,
        customer_id=customer,
    )
    send_and_report(customer, message, wait, timeout, ids)
