"""What `pkgctl trace ID` finds: which messages carry an id (anywhere in their JSON, or in a
dead letter's original bytes), the ids a command brings along (its correlation_id, which
the events it causes carry), and what became of each command. Pure: dicts in, dicts out."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from pkgcontract import topics

COMMAND_TOPICS = (
    topics.CATALOG_COMMANDS,
    topics.ASSIGNMENT_COMMANDS,
    topics.CHARGER_COMMANDS,
    topics.CLOCK_TICKS,
    topics.USAGE_RATED,
)
"""The topics commands (and ticks and calls) are sent to."""

CAUSED_BY = ("correlation_id",)
"""The fields of a command whose value its outcome and the events it causes carry too."""


def _strings(value: Any, depth: int = 0) -> Iterable[str]:
    if depth > 20:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, depth + 1)


def original(obj: dict[str, Any]) -> dict[str, Any]:
    """A dead letter's original message (its payload_base64, as JSON), else {}."""
    raw = obj.get("payload_base64")
    if obj.get("event_type") != "DeadLetter" or not isinstance(raw, str):
        return {}
    try:
        found = json.loads(base64.b64decode(raw))
    except (ValueError, binascii.Error, RecursionError):
        return {}
    return found if isinstance(found, dict) else {}


def carries(obj: dict[str, Any], ids: set[str], key: str | None = None) -> bool:
    """Whether the message (or the one a dead letter holds) carries one of `ids`: as a value
    anywhere in its JSON, or as its key."""
    if key is not None and key in ids:
        return True
    return any(s in ids for s in _strings(obj)) or any(s in ids for s in _strings(original(obj)))


def brought_along(objs: Iterable[dict[str, Any]], ident: str) -> set[str]:
    """`ident` and what the message with event_id `ident` (a command) hands on to what it
    causes: its correlation_id."""
    ids = {ident}
    for obj in objs:
        for o in (obj, original(obj)):
            if o.get("event_id") == ident:
                ids.update(str(o[f]) for f in CAUSED_BY if isinstance(o.get(f), str))
    return ids


def role(topic: str, obj: dict[str, Any]) -> str:
    """What a traced message is: the command, its outcome, a dead letter, or an event."""
    kind = obj.get("event_type")
    if kind == "CommandRejected":
        return f"REJECTED {obj.get('command_id')}: {obj.get('reason')}"
    if kind == "DeadLetter":
        return f"DEAD-LETTERED from {obj.get('source_topic')}: {str(obj.get('error'))[:120]}"
    if topic in COMMAND_TOPICS:
        return "sent"
    return "event"


def outcomes(found: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each command among `found` (topic, message) and what became of it: rejected (with the
    reason), dead-lettered, accepted (the events it caused, by type: _caused), or no outcome
    seen. `found` in time order."""
    out = []
    seen: set[str] = set()
    for at, (topic, cmd) in enumerate(found):
        cid = str(cmd.get("event_id"))
        if topic not in COMMAND_TOPICS or not cmd.get("event_id") or cid in seen:
            continue
        seen.add(cid)
        rejected = [
            o
            for _, o in found
            if o.get("event_type") == "CommandRejected" and o.get("command_id") == cid
        ]
        dead = [o for _, o in found if original(o).get("event_id") == cid]
        caused = [str(o.get("event_type")) for _, o in _caused(found, at)]
        if rejected:
            outcome, detail = "rejected", str(rejected[-1].get("reason"))
        elif dead:
            outcome, detail = "dead-lettered", str(dead[-1].get("error"))[:200]
        elif caused:
            outcome, detail = "accepted", ", ".join(dict.fromkeys(caused))
        else:
            outcome, detail = "no outcome seen", "no rejection, dead letter or event carries it"
        out.append(
            {
                "command_id": cid,
                "type": cmd.get("event_type"),
                "topic": topic,
                "outcome": outcome,
                "detail": detail,
            }
        )
    return out


ANSWERS = {
    topics.CATALOG_COMMANDS: topics.CATALOG_PACKAGES,
    topics.ASSIGNMENT_COMMANDS: topics.ASSIGNMENT_EVENTS,
    topics.CHARGER_COMMANDS: topics.CHARGER_EVENTS,
}
"""Where a command's own answer goes."""


def _caused(found: list[tuple[str, dict[str, Any]]], at: int) -> list[tuple[str, dict[str, Any]]]:
    """The events the command at `found[at]` caused: those carrying its correlation_id; for a
    command without one (not sent by pkgctl), the events on its answer topic after it that
    carry the traced id too."""
    topic, cmd = found[at]
    correlation = cmd.get("correlation_id")
    events = [
        (t, o)
        for t, o in found
        if t not in COMMAND_TOPICS and o.get("event_type") not in ("CommandRejected", "DeadLetter")
    ]
    if correlation is not None:
        return [(t, o) for t, o in events if o.get("correlation_id") == correlation]
    later = found[at + 1 :]
    return [(t, o) for t, o in later if t == ANSWERS.get(topic) and (t, o) in events]
