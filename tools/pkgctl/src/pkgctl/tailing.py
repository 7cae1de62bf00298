"""`pkgctl tail`: the messages of several topics (or a pattern: `billing.*`) as one stream in
time order across partitions, filtered by key, customer and type."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from pkgctl import render, streams
from pkgctl.cli import Options, app, fail, out, run


def parse_since(since: str | None) -> datetime | None:
    """--since: an RFC 3339 instant or a date (UTC); exit 2 otherwise."""
    if since is None:
        return None
    try:
        start = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"--since {since!r} is not an RFC 3339 instant or a date", 2) from None
    return start if start.tzinfo is not None else start.replace(tzinfo=UTC)


@app.command()
def tail(
    topic: Annotated[
        list[str],
        typer.Argument(help="contract topics or patterns, e.g. billing.credit-debited 'billing.*'"),
    ],
    key: Annotated[str | None, typer.Option(help="only records with this key")] = None,
    customer: Annotated[str | None, typer.Option(help="only this customer's messages")] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="only this event_type, e.g. CreditDebited; repeat"),
    ] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep reading")] = False,
    raw: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    last: Annotated[
        int | None,
        typer.Option(min=1, help="the last N messages (of those kept), in time order"),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="start at messages written since this RFC 3339 instant or date"),
    ] = None,
) -> None:
    """Print the messages of one or more topics in time order across partitions and topics:
    from the beginning, or the last N, or those written since a time (and, with --follow, as
    they come). Each line: when it was written, topic, type, key and fields."""
    start = parse_since(since)
    if last is not None and start is not None:
        raise fail("give --last or --since, not both", 2)
    try:
        names = streams.expand(topic)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    wanted = streams.Filter(key, customer, frozenset(type_ or ()))
    as_lines = raw or Options.json

    def keep(record: Any) -> bool:
        return wanted.keeps(record, streams.as_json(record))

    def show(record: Any) -> None:
        obj = streams.as_json(record)
        if as_lines:
            print(json.dumps(obj), flush=True)
        else:
            render.stream_line(out, record, obj, several=len(names) > 1)

    from pkgctl import scanning

    with contextlib.suppress(KeyboardInterrupt):
        # Each partition's last N hold the last N of all; filtered, the last N kept of them.
        found, _, _ = run(scanning.read(names, keep, last=last, since=start))
        for record in streams.last(found, last) if last else found:
            show(record)
        if follow:
            run(scanning.follow(names, keep, show))
