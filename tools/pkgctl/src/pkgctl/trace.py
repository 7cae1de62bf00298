"""`pkgctl trace ID`: every message on every topic that carries an id (a command id,
correlation id, assignment id, usage id, ...), in time order, with what became of each
command among them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from pkgctl import streams, tracing
from pkgctl.cli import Options, app, emit_json, fail, run


def parse_since(text: str) -> datetime:
    """A span back from now (30m, 12h, 7d) or an RFC 3339 instant or date (UTC)."""
    span = re.fullmatch(r"([0-9]{1,6})([smhd])", text)
    if span:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[span[2]]
        return datetime.now(UTC) - timedelta(**{unit: int(span[1])})
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(
            f"--since {text!r}: expected a span back from now (30m, 12h, 7d) or an RFC 3339 "
            "instant or date",
            2,
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@app.command()
def trace(
    ident: Annotated[
        str, typer.Argument(metavar="ID", help="a command, correlation, assignment or usage id")
    ],
    since: Annotated[
        str, typer.Option(help="read what was written since: 30m, 12h, 7d, or an instant")
    ] = "7d",
    max_: Annotated[
        int, typer.Option("--max", min=1, help="most records to read, over all topics")
    ] = 200_000,
) -> None:
    """Every message on every topic (dead letters too) that carries ID, in time order, and
    what became of each command among them (accepted, rejected with why, dead-lettered, or
    no outcome seen). A command id brings its correlation_id along: the events it caused.
    Exit 1 when nothing carries ID."""
    start = parse_since(since)
    names = streams.names()
    from pkgctl import scanning

    ids = {ident}
    hits, read, cut = run(scanning.read(names, _may_carry(ids), since=start, limit=max_))
    more = tracing.brought_along((streams.as_json(r) for r in hits), ident)
    if more != ids:  # a command: read again for what carries its correlation_id
        ids = more
        hits, read, cut = run(scanning.read(names, _may_carry(ids), since=start, limit=max_))
    hits = [
        (r, o)
        for r, o in ((r, streams.as_json(r)) for r in hits)
        if tracing.carries(o, ids, r.key.decode(errors="replace") if r.key else None)
    ]
    found = [(r.topic, o) for r, o in hits]
    results = tracing.outcomes(found)
    if Options.json:
        emit_json(
            {
                "id": ident,
                "ids": sorted(ids),
                "read": read,
                "cut_short": cut,
                "messages": [_entry(r, o) for r, o in hits],
                "outcomes": results,
            }
        )
    else:
        print(
            f"trace {ident}: {len(hits)} message(s) among {read} read since {start:%Y-%m-%d %H:%M}Z"
        )
        if cut:
            print(f"  (stopped after --max {max_} records: older ones are left out; --since)")
        for r, o in hits:
            e = _entry(r, o)
            print(f"  {e['at']}  {e['topic']:<28} {e['type']:<22} {e['key'] or '':<16} {e['role']}")
        for x in results:
            print(f"{x['type']} {x['command_id']}: {x['outcome']} ({x['detail']})")
    if not hits:
        raise typer.Exit(1)


def _may_carry(ids: set[str]) -> Any:
    """A quick look at a record's bytes: it may carry one of `ids` (checked exactly later),
    or it is a dead letter (whose original is base64)."""
    needles = [i.encode() for i in ids]

    def keep(record: Any) -> bool:
        value = record.value or b""
        return any(n in value or n == record.key for n in needles) or b'"DeadLetter"' in value

    return keep


def _entry(record: Any, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": streams.when(record),
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode(errors="replace") if record.key is not None else None,
        "type": obj.get("event_type") or "(not JSON)",
        "role": tracing.role(record.topic, obj),
        "message": obj,
    }
