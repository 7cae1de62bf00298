"""The commands pkgctl sends to the assignment service: assignments and spend limits (the
catalog's: catalog_commands.py). The contract's models are imported where a command is built:
`pkgctl --help` does not load them."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from pkgctl.cli import Customer, Timeout, Wait, app, fail
from pkgctl.resend import CommandId, Ids
from pkgctl.sending import build, customer_of, send_and_report

if TYPE_CHECKING:
    pass


@app.command()
def assign(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option()],
    package: Annotated[str, typer.Option()],
    start: Annotated[str, typer.Option(help="YYYY-MM-DD")],
    quantity: Annotated[int, typer.Option()] = 1,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD, inclusive")] = None,
    did: Annotated[str | None, typer.Option(help="E.164 digits, no +")] = None,
    auto_decrement: Annotated[bool, typer.Option("--auto-decrement/--no-auto-decrement")] = True,
    free_minutes: Annotated[int | None, typer.Option()] = None,
    timezone: Annotated[str, typer.Option()] = "UTC",
    assignment_id: Annotated[
        str | None, typer.Option(help="default: a new UUID (said before it is sent)")
    ] = None,
    command_id: CommandId = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Assign a package to a customer (or to one of its DIDs)."""
    from pkgcontract.messages import AssignPackage

    ids = Ids.choose(ctx, command_id, assignment_id=assignment_id or str(uuid.uuid4()))
    message = build(
        AssignPackage,
        event_id=ids.command_id,
        assignment_id=ids.carried["assignment_id"],
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
        ids,
    )


@app.command()
def change(
    ctx: typer.Context,
    assignment_id: str,
    customer: Customer = None,
    quantity: Annotated[int | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option(help="YYYY-MM-DD, or 'none' to remove")] = None,
    auto_decrement: Annotated[
        bool | None, typer.Option("--auto-decrement/--no-auto-decrement")
    ] = None,
    free_minutes: Annotated[int | None, typer.Option()] = None,
    effective_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    command_id: CommandId = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Change an assignment from a date on."""
    from pkgcontract.messages import ChangeAssignment

    if quantity is None and end is None and auto_decrement is None and free_minutes is None:
        raise fail(
            "nothing to change: give --quantity, --end, --[no-]auto-decrement or --free-minutes", 2
        )
    remove_end = end is not None and end.lower() == "none"
    ids = Ids.choose(ctx, command_id)
    message = build(
        ChangeAssignment,
        event_id=ids.command_id,
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
        ids,
    )


@app.command()
def end(
    ctx: typer.Context,
    assignment_id: str,
    customer: Customer = None,
    date: Annotated[
        str | None, typer.Option("--end", "--date", help="last day (YYYY-MM-DD), default: today")
    ] = None,
    command_id: CommandId = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """End an assignment (--end, as `assign` and `change` take it)."""
    from pkgcontract.messages import EndAssignment

    ids = Ids.choose(ctx, command_id)
    message = build(
        EndAssignment, event_id=ids.command_id, assignment_id=assignment_id, end_date=date
    )
    send_and_report(
        customer_of(assignment_id, customer),
        message,
        wait,
        timeout,
        ids,
    )


@app.command("spend-limit")
def spend_limit(
    ctx: typer.Context,
    customer: Annotated[str, typer.Option()],
    limit: Annotated[str, typer.Option(help="per calendar month, or 'none' to remove")],
    currency: Annotated[str, typer.Option()],
    command_id: CommandId = None,
    wait: Wait = True,
    timeout: Timeout = 30.0,
) -> None:
    """Set (or remove) a customer's monthly spend limit."""
    from pkgcontract.messages import SetSpendLimit

    ids = Ids.choose(ctx, command_id)
    message = build(
        SetSpendLimit,
        event_id=ids.command_id,
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
        ids,
    )
