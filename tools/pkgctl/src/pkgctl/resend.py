"""Sending a command again as the same command (docs/contract.md §2: a repeat of a command id with
the same body is ignored), and seeing what became of one.

Every command pkgctl sends says its ids before it is sent: the command id (its event_id) and
the ids it chose for what it creates (assignment_id, request_id, tick_id, usage_id). Each can
be given back as an option, so the same line with those ids sends the same command: the
services compare a repeat's body without its occurred_at and correlation_id
(pkgshared.commands.body_digest), and every other field comes from the options. The command
ids pkgctl chooses are UUIDv7: they carry the moment they were made, so the first sending
of a command, and its outcome, are looked for on the topics from then on only."""

from __future__ import annotations

import os
import shlex
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from pkgctl.cli import Options, err

CommandId = Annotated[
    str | None,
    typer.Option(
        "--command-id",
        help="the command's id (its event_id), to send it again as the same command; "
        "default: a new one",
    ),
]

SLACK = timedelta(minutes=5)
"""How far before a command id's moment its sending, and its outcome, are looked for (the
clocks of the machines that sent and answered it may differ by that much)."""


def new_command_id() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms & (1 << 48) - 1) << 80
        | 0x7 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | rand & (1 << 62) - 1
    )
    return str(uuid.UUID(int=value))


def sent_around(command_id: str) -> datetime | None:
    """From when to look for command `command_id` and its outcome: SLACK before the moment a
    UUIDv7 carries; None (from the start) for any other id."""
    try:
        parsed = uuid.UUID(command_id)
    except ValueError:
        return None
    if parsed.version != 7:
        return None
    made = datetime.fromtimestamp((parsed.int >> 80) / 1000, UTC)
    return made - SLACK if made <= datetime.now(UTC) + SLACK else None


@dataclass(frozen=True)
class Ids:
    """The ids of a command to send: its command id and the ids it carries (by the name of
    the option that sets each), whether the command id was given (sent again), and the
    command line that sends the same command again."""

    command_id: str
    given: bool
    carried: dict[str, str] = field(default_factory=dict)
    line: str = ""

    @classmethod
    def choose(cls, ctx: typer.Context, command_id: str | None, **carried: str) -> Ids:
        """`command_id` (a new one when None) and `carried`, for the command `ctx` runs."""
        chosen = command_id or new_command_id()
        line = command_line(ctx, {"command_id": chosen, **carried})
        return cls(chosen, command_id is not None, carried, line)


def command_line(ctx: typer.Context, values: dict[str, Any]) -> str:
    """The pkgctl command line that runs `ctx`'s command again with the same options,
    `values` (by parameter name) replacing what was given or left to a default. Options at
    their default are left out."""
    words = ["pkgctl", *(["--json"] if Options.json else []), str(ctx.info_name)]
    for param in ctx.command.params:
        name = str(param.name)
        value = values.get(name, ctx.params.get(name))
        if param.param_type_name == "argument":
            words += [str(v) for v in _items(value)]
            continue
        if value is None or (name not in values and value == param.default):
            continue
        flag = bool(getattr(param, "is_flag", False))
        if flag and param.secondary_opts:
            words.append(param.opts[0] if value else param.secondary_opts[0])
        elif flag:
            words += [param.opts[0]] if value else []
        else:
            for item in _items(value):
                words += [param.opts[0], str(item)]
    return " ".join(_quote(w) for w in words)


def _quote(word: str) -> str:
    """`word` quoted for a POSIX shell; a word with a line break, tab or other character
    that does not print (a name or description may hold them) in bash's $'...', so the line
    stays one line."""
    if word.isprintable():
        return shlex.quote(word)
    escaped = []
    for ch in word:
        if ch in "\\'":
            escaped.append("\\" + ch)
        elif ch.isprintable():
            escaped.append(ch)
        elif ord(ch) < 0x100:
            escaped.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            escaped.append(f"\\u{ord(ch):04x}")
        else:
            escaped.append(f"\\U{ord(ch):08x}")
    return "$'" + "".join(escaped) + "'"


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def say(line: str) -> None:
    """A line on stderr as it is (no markup, no wrapping: it may be copied and run)."""
    err.print(line, markup=False, highlight=False, soft_wrap=True)


def announce(kind: str, ids: Ids) -> None:
    said = ", ".join(f"{name} {value}" for name, value in ids.carried.items())
    say(f"sending {kind}: command id {ids.command_id}" + (f", {said}" if said else ""))


def guidance(ids: Ids) -> None:
    """How to see what became of a command whose outcome did not come, and to send it again."""
    say(f"  see what became of it:  pkgctl outcome {ids.command_id}")
    say("  send it again as the same command (a repeat is not applied twice; its first")
    say("  outcome is shown):")
    say(f"    {ids.line}")
