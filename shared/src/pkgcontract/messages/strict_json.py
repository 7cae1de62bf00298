"""Strict JSON for messages: one object, UTF-8, no key twice, no NaN or Infinity, nesting
bounded outside strings (docs/contract.md §2). Whatever the bytes, `decode_json` returns an object
or raises Unreadable."""

from __future__ import annotations

import json
import re
from typing import Any


class Unreadable(Exception):
    """The message cannot be read; it goes to the dead-letter topic."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


MAX_DEPTH = 32
"""Deepest nesting of arrays and objects a message may have; the contract's deepest is 3."""

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
"""A JSON string literal, escapes included (the unrolled form: linear, no backtracking)."""
_BRACKET = re.compile(r"[\[\]{}]")


class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of the parsed JSON; the same key twice makes the message unreadable
    (docs/contract.md §2) rather than letting the last one win under the first one's place."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(f"the key {key[:64]!r} appears twice in one object")
            seen.add(key)
    return obj


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode_json(raw: bytes | None) -> dict[str, Any]:
    """The JSON object in `raw`; Unreadable for anything else, whatever the bytes."""
    if raw is None:
        raise Unreadable("empty message (no value)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8: {exc}") from exc
    if _nesting(text) > MAX_DEPTH:
        # Refused before parsing: 10,000 levels make the parser (and anything walking the
        # result) raise RecursionError.
        raise Unreadable(f"nested deeper than {MAX_DEPTH} levels")
    try:
        # An integer of more than 4,300 digits is a ValueError too (Python's bound on
        # turning text into an int).
        obj = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except _DuplicateKey as exc:
        raise Unreadable(f"not readable: {exc}") from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # JSONDecodeError is a ValueError
        raise Unreadable(f"not JSON: {str(exc)[:300]}") from exc
    if not isinstance(obj, dict):
        raise Unreadable(f"not a JSON object but a JSON {type(obj).__name__}")
    return obj


def _nesting(text: str) -> int:
    """The JSON text's nesting depth when it is deeper than MAX_DEPTH, else 0; brackets are
    counted outside strings only. Text that is not JSON may be over-counted: it is
    unreadable anyway."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    bare = _STRING.sub("", text) if '"' in text else text
    depth = 0
    for char in _BRACKET.findall(bare):
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return depth
        else:
            depth -= 1
    return 0
