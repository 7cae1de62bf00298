"""Dead letters: list them (marked when replayed), show one, replay some (waiting for what
becomes of each)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pkgcontract import topics
from pkgctl import render
from pkgctl.cli import Options, Timeout, dlq_app, emit_json, err, fail, out, run


@dlq_app.command("list")
def dlq_list(
    topic: Annotated[
        str | None,
        typer.Argument(help="the source topic, e.g. catalog.commands (default: every one)"),
    ] = None,
) -> None:
    """List the dead letters of a topic, or of every topic (read in one go)."""
    from pkgctl import letters

    if topic is not None:
        found = run(letters.dead_letters(_dlq_source(topic)))
        if Options.json:
            emit_json(found)
        else:
            render.dead_letters(out, found)
        return
    every = run(letters.all_dead_letters())
    if Options.json:
        emit_json(every)
        return
    total = sum(map(len, every.values()))
    out.print(f"{total} dead letter(s) on {len(every)} .dlq topics", highlight=False)
    for source, found in every.items():
        if found:
            out.print(f"{source}.dlq: {len(found)}", highlight=False)
            render.dead_letters(out, found)


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
            help="field=value to change in the JSON message first, written with the type the "
            "contract gives the field (money as a string, integers as numbers, true/false, "
            "lists as JSON, null); what was set, as which type, is said; repeat",
        ),
    ] = None,
    timeout: Timeout = 30.0,
) -> None:
    """Send dead letters' messages to their source topic again, with their keys (so the same
    partition as their keys' other messages) and event_type headers; --set fixes fields
    first. Waits for what becomes of each (dead-lettered again, rejected, or answered) and
    exits 1 unless every one was answered. A letter holding only the start of a message
    larger than 256 KiB is refused."""
    from pkgctl import letters

    found = run(letters.dead_letters(_dlq_source(topic)))
    by_offset = {x["_offset"]: x for x in found}
    missing = [o for o in offsets if o not in by_offset]
    if missing:
        raise fail(f"no dead letter at offset(s) {missing} of {topic}.dlq", 1)
    changes = _assignments(set_ or [])
    ready = []
    for offset in offsets:  # every letter checked before any is sent
        letter = by_offset[offset]
        try:
            payload, headers, said = letters.replayable(letter, changes)
        except ValueError as exc:
            raise fail(f"offset {offset}: {exc}", 2) from None
        ready.append((offset, letter, payload, headers))
        for line in said:
            err.print(f"{topic}.dlq offset {offset}: {line}", markup=False, highlight=False)
    results = []
    for offset, letter, payload, headers in ready:
        outcome, detail = run(letters.replay(letter, payload, headers, timeout))
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


def _assignments(pairs: list[str]) -> dict[str, str]:
    """FIELD: the text after '=' (typed per message: replay_fields)."""
    changes: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise fail(f"--set wants field=value, not {pair!r}", 2)
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
    from pkgctl import letters

    found = [x for x in run(letters.dead_letters(_dlq_source(topic))) if x["_offset"] == offset]
    if not found:
        raise fail(f"no dead letter at offset {offset} of {topic}.dlq", 1)
    return found[0]
