"""Schema versions: how a message of another `schema_version` is read.

Every model here reads version 1, the only version published so far (docs/contract.md §2). When a
message changes, its new version gets a converter here from the version before (an upcaster:
old JSON in, the next version's JSON out), the model moves to the new version, and `read()`
runs a stored or late old message through every converter up to the current one. A version
with no path to the current one is left as it is, and the model refuses it (its
`schema_version` field takes the current version only): CommandRejected for a command, a
DeadLetter for anything else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CURRENT = 1
"""The version the models read."""

Converter = Callable[[dict[str, Any]], dict[str, Any]]

CONVERTERS: dict[tuple[str, int], tuple[int, Converter]] = {}
"""(event_type, version) -> (the version it converts to, the converter). Registered by
`converter`; a path must end at CURRENT."""


def converter(event_type: str, source: int, target: int) -> Callable[[Converter], Converter]:
    """Register a function turning `event_type` version `source` JSON into version `target`."""

    def register(function: Converter) -> Converter:
        CONVERTERS[(event_type, source)] = (target, function)
        return function

    return register


def to_current(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` as the current version of its message: unchanged when it is one already, or
    when no converters lead from its version to the current one."""
    version = obj.get("schema_version", CURRENT)
    converted = obj
    seen: set[int] = set()
    while version != CURRENT:
        event_type = converted.get("event_type")
        step = CONVERTERS.get((str(event_type), version)) if isinstance(version, int) else None
        if step is None or version in seen:
            return obj
        seen.add(version)
        version, convert = step
        converted = {**convert(converted), "schema_version": version}
    return converted
