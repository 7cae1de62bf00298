"""Reading several topics as one stream (`pkgctl tail`, `pkgctl trace`): which topics a name or
a pattern means, which records a filter keeps, and their order in time across partitions.
Pure: records in, records out."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pkgcontract import topics

if TYPE_CHECKING:
    from pkgtools.topic_io import Record


def names() -> list[str]:
    """Every topic of the contract, .dlq topics included."""
    return [t.name for t in topics.TOPICS]


def expand(patterns: Iterable[str]) -> list[str]:
    """The contract topics that `patterns` name (a name, or a shell pattern: `billing.*`),
    each once, in the contract's order; ValueError naming a pattern that matches none. A
    pattern matches dead-letter topics only when it says so (`*.dlq`, `usage.rated.dlq`)."""
    known = names()
    chosen: set[str] = set()
    for pattern in patterns:
        found = [
            n
            for n in known
            if fnmatch.fnmatchcase(n, pattern)
            and (pattern == n or "dlq" in pattern or not n.endswith(topics.DLQ_SUFFIX))
        ]
        if not found:
            raise ValueError(
                f"unknown topic {pattern!r}: no contract topic matches it; one of: "
                f"{', '.join(known)}, or a pattern such as 'billing.*'"
            )
        chosen.update(found)
    return [n for n in known if n in chosen]


def as_json(record: Record) -> dict[str, Any]:
    try:
        obj = json.loads(record.value or b"null")
    except (ValueError, RecursionError):
        return {}
    return obj if isinstance(obj, dict) else {}


@dataclass(frozen=True)
class Filter:
    """Which records to keep: each given criterion must hold (none given: all)."""

    key: str | None = None
    customer: str | None = None
    types: frozenset[str] = frozenset()

    def keeps(self, record: Record, obj: dict[str, Any]) -> bool:
        key = record.key.decode(errors="replace") if record.key is not None else None
        if self.key is not None and key != self.key:
            return False
        # a record keyed by the customer whose body is not JSON still is the customer's
        theirs = obj.get("customer_id") == self.customer or (key == self.customer and not obj)
        if self.customer is not None and not theirs:
            return False
        return not self.types or obj.get("event_type") in self.types


def in_time(records: Iterable[Record]) -> list[Record]:
    """`records` in time order across topics and partitions: by the record's timestamp, then
    topic, partition and offset. A partition's own order is kept whatever its timestamps say
    (a record stamped before its predecessor sorts with it)."""
    by_partition: dict[tuple[str, int], list[Record]] = {}
    for r in records:
        by_partition.setdefault((r.topic, r.partition), []).append(r)
    keyed: list[tuple[int, str, int, int, Record]] = []
    for part in by_partition.values():
        floor = 0
        for r in sorted(part, key=lambda r: r.offset):
            floor = max(floor, r.timestamp or 0)
            keyed.append((floor, r.topic, r.partition, r.offset, r))
    keyed.sort(key=lambda k: k[:4])
    return [k[4] for k in keyed]


def last(records: Iterable[Record], n: int) -> list[Record]:
    """The `n` latest of `records`, in time order."""
    ordered = in_time(records)
    return ordered[-n:] if n else []


def when(record: Record) -> str:
    """The record's timestamp as an ISO instant (UTC, milliseconds); "" when it has none."""
    if record.timestamp is None:
        return ""
    at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
