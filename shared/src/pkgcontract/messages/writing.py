"""How the contract writes values as JSON text, for events written as bytes without their model
on hot paths (json_text, instant_str), and the natural event ids (docs/contract.md §2)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, UUID

_PLAIN = re.compile(r"[A-Za-z0-9_.:@+-]*")


def json_text(value: str) -> str:
    """A JSON string literal as the models write one: UTF-8, escaping only what JSON requires
    (for events written as bytes without their model, on hot paths)."""
    if _PLAIN.fullmatch(value):
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def instant_str(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, as every message writes instants."""
    text = (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()
    return text.replace("+00:00", "Z")


_NAMED = NAMESPACE_URL.bytes + b"packages:"  # what SHA-1 reads before a natural key
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
"""The RFC 4122 variant (binary 10) set in a digit's two high bits, hex digit for hex digit."""


def natural_event_id(key: str) -> UUID:
    """The event id of an event derived from a natural key (docs/contract.md §2)."""
    return UUID(natural_event_id_str(key))


def natural_event_id_str(key: str) -> str:
    """The event id of `key` as the contract writes it: uuid5(NAMESPACE_URL, "packages:" + key),
    that is SHA-1 with the version and variant bits set, computed without building a UUID
    object (the charger makes one per event, a million per big tick), on the hex digest's
    digits, which was faster than setting the bits in bytes (docs/benchmarks.md)."""
    h = hashlib.sha1(_NAMED + key.encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
