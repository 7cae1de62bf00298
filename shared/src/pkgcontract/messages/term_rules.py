"""The rules of a package's terms beyond field types (docs/contract.md §4, §5): proration,
notify_at_percent, frequency_match, and the same rules as JSON Schema for the published
documents. A rule broken is a CommandRejected naming the field."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StrictInt, StrictStr, WithJsonSchema

from .envelope import envelope_required
from .fields import rule_error

PRORATIONS = ("none", "daily")
MAX_PERCENTS = 5


def _proration(value: Any) -> str:
    """docs/contract.md §4/§7: "none" (the default, also for null) or "daily"; any other value,
    whatever its JSON type, is a rule broken (CommandRejected naming the field)."""
    if value is None:
        return "none"
    if not isinstance(value, str) or value not in PRORATIONS:
        raise rule_error("proration", 'must be "none" or "daily"')
    return value


Proration = Annotated[
    Literal["none", "daily"],
    BeforeValidator(_proration),
    WithJsonSchema({"type": "string", "enum": list(PRORATIONS), "default": "none"}),
]


def _percents(value: Any) -> list[int]:
    """docs/contract.md §4/§6: 1 to 5 distinct integers from 1 to 100, sorted (null or an empty
    list: none); any other value, whatever its JSON type, is a rule broken (CommandRejected
    naming the field)."""
    if value is None or value == []:
        return []
    ints = (
        [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
        if isinstance(value, list)
        else []
    )
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= MAX_PERCENTS
        or len(ints) != len(value)
        or any(not 1 <= v <= 100 for v in ints)
        or len(set(ints)) != len(ints)
    ):
        raise rule_error(
            "notify_at_percent",
            f"must be a list of 1 to {MAX_PERCENTS} distinct integers from 1 to 100",
        )
    return sorted(ints)


Percents = Annotated[
    list[int],
    BeforeValidator(_percents),
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": 100},
            "maxItems": MAX_PERCENTS,
            "uniqueItems": True,
        }
    ),
]
Frequency = Literal["daily", "weekly", "monthly", "yearly"]


def _null_percent(value: Any) -> Any:
    """rollover_percent null reads as its default, 0."""
    return 0 if value is None else value


RolloverPercent = Annotated[
    StrictInt,
    Field(ge=0, le=100),
    BeforeValidator(_null_percent),
    WithJsonSchema({"type": ["integer", "null"], "minimum": 0, "maximum": 100, "default": 0}),
]
RolloverDays = Annotated[StrictInt, Field(ge=1, le=366)]


def rollover_rules(kind: str, percent: int, days: int | None) -> None:
    """docs/contract.md §4: rollover_percent (default 0) is for free_minutes packages only, and
    rollover_days is required when it is above 0 and absent otherwise."""
    if percent and kind != "free_minutes":
        raise rule_error(
            "rollover_percent",
            "rollover_percent is only for free_minutes packages",
            "rollover_percent",
        )
    if percent and days is None:
        raise rule_error(
            "rollover_days", "rollover_days is required when rollover_percent > 0", "rollover_days"
        )
    if not percent and days is not None:
        raise rule_error(
            "rollover_days",
            "rollover_days is only for packages whose rollover_percent > 0",
            "rollover_days",
        )


FrequencyMatch = list[StrictInt | StrictStr]


def normalize_frequency_match(
    frequency: str, match: list[int | str] | None
) -> list[int] | list[str]:
    """Check `match` against `frequency` (docs/contract.md §5); return it de-duplicated and
    sorted."""
    entries = list(match or [])
    if frequency == "daily":
        if entries:
            raise rule_error(
                "frequency_match", "daily packages take no frequency_match", "frequency_match"
            )
        return []
    if not entries:
        raise rule_error(
            "frequency_match", f"{frequency} packages need at least one entry", "frequency_match"
        )
    if frequency in ("weekly", "monthly"):
        high = 7 if frequency == "weekly" else 31
        what = "ISO weekdays 1-7" if frequency == "weekly" else "days of month 1-31"
        if not all(isinstance(e, int) and not isinstance(e, bool) for e in entries):
            raise rule_error(
                "frequency_match",
                f"{frequency} entries must be integers: {what}",
                "frequency_match",
            )
        ints = [e for e in entries if isinstance(e, int)]
        if any(not 1 <= e <= high for e in ints):
            raise rule_error(
                "frequency_match", f"{frequency} entries must be {what}", "frequency_match"
            )
        return sorted(set(ints))
    strs = [e for e in entries if isinstance(e, str)]
    if len(strs) != len(entries):
        raise rule_error(
            "frequency_match", 'yearly entries must be strings "MM-DD"', "frequency_match"
        )
    for entry in strs:
        try:
            # 2000 is a leap year, so "02-29" is accepted.
            ok = len(entry) == 5 and entry[2] == "-" and date.fromisoformat("2000-" + entry)
        except ValueError:
            ok = False
        if not ok:
            raise rule_error(
                "frequency_match",
                f'yearly entry {entry!r} is not a date "MM-DD"',
                "frequency_match",
            )
    return sorted(set(strs))


_MONTH_DAY = (
    r"^((01|03|05|07|08|10|12)-(0[1-9]|[12][0-9]|3[01])"
    r"|(04|06|09|11)-(0[1-9]|[12][0-9]|30)"
    r"|02-(0[1-9]|1[0-9]|2[0-9]))$"
)
"""MM-DD, a day that exists in a leap year."""


def _entries(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "minItems": 1, "items": items}


FREQUENCY_RULES: list[dict[str, Any]] = [
    {
        "if": {"properties": {"frequency": {"const": "daily"}}, "required": ["frequency"]},
        "then": {"properties": {"frequency_match": {"type": ["array", "null"], "maxItems": 0}}},
    },
    *(
        {
            "if": {"properties": {"frequency": {"const": name}}, "required": ["frequency"]},
            "then": {
                "required": ["frequency_match"],
                "properties": {"frequency_match": _entries(items)},
            },
        }
        for name, items in (
            ("weekly", {"type": "integer", "minimum": 1, "maximum": 7}),
            ("monthly", {"type": "integer", "minimum": 1, "maximum": 31}),
            ("yearly", {"type": "string", "pattern": _MONTH_DAY}),
        )
    ),
]
"""docs/contract.md §5's frequency_match rules, as JSON Schema (the models check them in code)."""

KIND_RULES: list[dict[str, Any]] = [
    {
        "if": {"properties": {"kind": {"const": "free_minutes"}}, "required": ["kind"]},
        "then": {"required": ["free_minutes"], "properties": {"free_minutes": {"type": "integer"}}},
        "else": {
            "properties": {
                "free_minutes": {"type": "null"},
                "destination_prefixes": {"type": ["array", "null"], "maxItems": 0},
            }
        },
    }
]


ROLLOVER_RULES: list[dict[str, Any]] = [
    {
        "if": {
            "properties": {"rollover_percent": {"type": "integer", "minimum": 1}},
            "required": ["rollover_percent"],
        },
        "then": {
            "required": ["rollover_days"],
            "properties": {
                "rollover_days": {"type": "integer"},
                "kind": {"const": "free_minutes"},
            },
        },
        "else": {"properties": {"rollover_days": {"type": "null"}}},
    }
]
"""docs/contract.md §4's rollover rules, as JSON Schema (the models check them in code)."""


def package_rules(schema: dict[str, Any]) -> None:
    envelope_required(schema)
    schema["allOf"] = [*FREQUENCY_RULES, *KIND_RULES, *ROLLOVER_RULES]
