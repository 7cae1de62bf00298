"""`dlq replay --set FIELD=VALUE`: each value written with the JSON type the contract gives the
field (the message model's JSON schema): money, dates and ids as JSON strings, integers as
numbers, booleans, lists and objects as JSON, null where the field takes it. A value that
cannot be that type is refused (ValueError) before anything is sent."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pkgcontract.messages import MESSAGE_TYPES

_INTEGER = re.compile(r"-?[0-9]+")
_MONEY = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_ORDER = ("null", "boolean", "integer", "number", "array", "object", "string")


@dataclass(frozen=True)
class Change:
    """One field set: its value as it will be written, and as which type (said to the
    operator)."""

    name: str
    value: Any
    kind: str

    def describe(self) -> str:
        return f"set {self.name} = {json.dumps(self.value)} ({self.kind})"


def _kinds(spec: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The JSON types a schema allows."""
    if "$ref" in spec:
        return _kinds(defs.get(spec["$ref"].rsplit("/", 1)[-1], {}), defs)
    found: set[str] = set()
    kind = spec.get("type")
    if isinstance(kind, str):
        found.add(kind)
    elif isinstance(kind, list):
        found.update(kind)
    for part in (*spec.get("anyOf", ()), *spec.get("oneOf", ()), *spec.get("allOf", ())):
        found |= _kinds(part, defs)
    for value in ([spec["const"]] if "const" in spec else []) + list(spec.get("enum", [])):
        found.add(_json_kind(value))
    if not found and spec.get("properties"):
        found.add("object")
    return found


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _label(kind: str, spec: dict[str, Any], money: bool) -> str:
    if kind == "string":
        if money:
            return 'money, as a JSON string such as "9.99"'
        formats = {str(s.get("format")) for s in (spec, *spec.get("anyOf", ()))}
        for name in ("date-time", "date", "uuid"):
            if name in formats:
                return f"{name}, as a JSON string"
        return "a JSON string"
    return {
        "null": "null",
        "boolean": "a JSON boolean",
        "integer": "an integer, as a JSON number",
        "number": "a JSON number",
        "array": "a JSON list",
        "object": "a JSON object",
    }[kind]


def _convert(text: str, kinds: set[str]) -> tuple[str, Any] | None:
    """(the JSON type, the value) of `text` as the first of `kinds` it can be; None."""
    try:
        parsed: Any = json.loads(text)
    except (ValueError, RecursionError):
        parsed = _NOT_JSON
    for kind in _ORDER:
        if kind not in kinds:
            continue
        if kind == "null" and text == "null":
            return kind, None
        if kind == "boolean" and text.lower() in ("true", "false"):
            return kind, text.lower() == "true"
        if kind == "integer" and _INTEGER.fullmatch(text.strip()):
            return kind, int(text)
        if kind == "number" and _json_kind(parsed) in ("integer", "number"):
            return kind, parsed
        if kind in ("array", "object") and _json_kind(parsed) == kind:
            return kind, parsed
        if kind == "string":
            return kind, parsed if isinstance(parsed, str) else text
    return None


_NOT_JSON = object()


def typed(event_type: Any, raw: dict[str, str]) -> list[Change]:
    """The changes `raw` (field: the text after '=') as the message type `event_type` takes
    them; ValueError naming the field when a value cannot be its type, or the type has no
    such field. An unknown type (no model): each value as JSON when it is JSON, else text."""
    model = MESSAGE_TYPES.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        changes = []
        for name, text in raw.items():
            found = _convert(text, set(_ORDER))
            assert found is not None  # a string always fits
            changes.append(
                Change(name, found[1], f"{found[0]}: no contract model for {event_type!r}")
            )
        return changes
    schema = model.model_json_schema()
    properties, defs = schema.get("properties", {}), schema.get("$defs", {})
    changes = []
    for name, text in raw.items():
        if name not in properties:
            raise ValueError(
                f"--set {name}: {event_type} has no field {name!r}; "
                f"its fields: {', '.join(properties)}"
            )
        kinds = _kinds(properties[name], defs) or set(_ORDER)
        field = model.model_fields.get(name)
        # Money (Money, InputMoney: Decimal annotated to travel as a JSON string).
        money = field is not None and "Decimal" in repr(field.annotation)
        found = _convert(text, kinds)
        if money and found is not None and not _MONEY.fullmatch(str(found[1])):
            # money is a decimal number, written as a string (or null where it may be)
            found = None if found[0] == "string" else found
            kinds = {"string"} | ({"null"} if "null" in kinds else set())
        if found is None:
            expected = " or ".join(_label(k, properties[name], money) for k in sorted(kinds))
            raise ValueError(f"--set {name}={text!r}: {event_type}.{name} takes {expected}")
        changes.append(Change(name, found[1], _label(found[0], properties[name], money)))
    return changes


def check(event_type: Any, message: dict[str, Any], changes: list[Change]) -> list[str]:
    """Validate the changed message with its model: a changed field of the wrong JSON type is
    refused (ValueError); a rule it breaks (a range, a pattern) is returned as a note, since
    the service then answers CommandRejected, which says so."""
    model = MESSAGE_TYPES.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        return []
    from pydantic import ValidationError

    names = {c.name for c in changes}
    try:
        model.model_validate_json(json.dumps(message))
    except ValidationError as exc:
        notes = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            if field not in names:
                continue
            if error["type"].endswith("_type"):
                raise ValueError(f"--set {field}: {error['msg']}") from None
            notes.append(f"note: {field}: {error['msg']} (the service will reject it)")
        return notes
    return []
