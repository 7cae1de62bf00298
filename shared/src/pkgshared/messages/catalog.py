"""Catalog messages (CONTRACT.md §4 Catalog)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from .envelope import Message, envelope_required
from .fields import (
    Currency,
    Day,
    DestinationPrefix,
    FreeMinutes,
    Money,
    NonNegativeInt,
    NonNegativeMoney,
    PackageId,
    PositiveInt,
    Text,
    rule_error,
)

Kind = Literal["recurring", "free_minutes", "minimum_spend"]
PRORATIONS = ("none", "daily")
MAX_PERCENTS = 5


def _proration(value: Any) -> str:
    """CONTRACT.md §4/§7: "none" (the default, also for null) or "daily"; any other value,
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
    """CONTRACT.md §4/§6: 1 to 5 distinct integers from 1 to 100, sorted (null or an empty
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
FrequencyMatch = list[StrictInt | StrictStr]


def normalize_frequency_match(
    frequency: str, match: list[int | str] | None
) -> list[int] | list[str]:
    """Check `match` against `frequency` (CONTRACT.md §5); return it de-duplicated and sorted."""
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
"""CONTRACT.md §5's frequency_match rules, as JSON Schema (the models check them in code)."""

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


def package_rules(schema: dict[str, Any]) -> None:
    envelope_required(schema)
    schema["allOf"] = [*FREQUENCY_RULES, *KIND_RULES]


class _PackageTerms(Message):
    """The fields a definition and its PackageDefined share."""

    model_config = ConfigDict(json_schema_extra=package_rules)

    package_id: PackageId = Field(description="1-64 chars of [A-Za-z0-9_.-].")
    name: Text = Field(min_length=1, max_length=200, description="Display name.")
    kind: Kind = Field(description="recurring, free_minutes or minimum_spend.")
    retail: NonNegativeMoney = Field(description="What the customer is charged per period.")
    cost: NonNegativeMoney | None = Field(
        default=None, description="What the operator pays per period (margin reporting)."
    )
    setup_retail: NonNegativeMoney | None = Field(
        default=None, description="Charged once when an assignment starts."
    )
    setup_cost: NonNegativeMoney | None = Field(default=None, description="Operator setup cost.")
    currency: Currency
    frequency: Frequency
    free_minutes: FreeMinutes | None = Field(
        default=None, description="Minutes per period; required for free_minutes packages only."
    )
    destination_prefixes: list[DestinationPrefix] | None = Field(
        default=None,
        description="free_minutes only: destinations the minutes apply to; empty: any.",
    )
    minimum_days: NonNegativeInt | None = Field(
        default=None,
        description="An assignment cannot end before start_date + minimum_days - 1.",
    )
    notice_days: int | None = Field(
        default=None,
        ge=0,
        le=365,
        description="ChargeUpcoming is sent this many days before a recurring debit falls due; "
        "absent: the charger's CHARGE_NOTICE_DAYS (0 unless set: no notices).",
    )
    proration: Proration = Field(
        default="none",
        description='"daily": part-periods at both ends charged by the day, and credits for '
        "periods an end date cuts (CONTRACT.md §7); recurring and free_minutes only.",
    )
    notify_at_percent: Percents = Field(
        default_factory=list,
        description="free_minutes only: AllowanceThresholdReached when a grant's use reaches "
        "each of these percents (1 to 5 distinct, 1-100); PackageDefined lists them sorted.",
    )
    description: Text | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _kind_rules(self) -> Self:
        if self.kind == "minimum_spend" and self.proration != "none":
            raise rule_error(
                "proration", "proration is for recurring and free_minutes packages", "proration"
            )
        if self.kind != "free_minutes" and self.notify_at_percent:
            raise rule_error(
                "notify_at_percent",
                "notify_at_percent is only for free_minutes packages",
                "notify_at_percent",
            )
        if self.kind == "free_minutes" and self.free_minutes is None:
            raise rule_error(
                "free_minutes", "free_minutes is required for free_minutes packages", "free_minutes"
            )
        if self.kind != "free_minutes" and self.free_minutes is not None:
            raise rule_error(
                "free_minutes", "free_minutes is only for free_minutes packages", "free_minutes"
            )
        if self.kind != "free_minutes" and self.destination_prefixes:
            raise rule_error(
                "destination_prefixes",
                "destination_prefixes are only for free_minutes packages",
                "destination_prefixes",
            )
        return self


class DefinePackage(_PackageTerms):
    """Define a package, or a new version of it."""

    event_type: Literal["DefinePackage"] = "DefinePackage"
    frequency_match: FrequencyMatch | None = Field(
        default=None,
        description="Billing dates: weekdays 1-7, days of month 1-31 or 'MM-DD' (CONTRACT §5).",
    )
    effective_from: Day | None = Field(
        default=None,
        description="First period start this version applies to; default: the day processed "
        "(null for version 1).",
    )

    @model_validator(mode="after")
    def _frequency_rules(self) -> Self:
        normalize_frequency_match(self.frequency, self.frequency_match)
        return self


class PackageDefined(_PackageTerms):
    """A package version is in the catalog."""

    event_type: Literal["PackageDefined"] = "PackageDefined"
    frequency_match: list[int] | list[str] = Field(
        description="Always a list, sorted (empty for daily)."
    )
    effective_from: Day | None = Field(
        description="First period start this version applies to; null: from the beginning."
    )
    version: PositiveInt = Field(description="1, 2, ... per package.")


class RetirePackage(Message):
    """Retire a package: it can no longer be newly assigned."""

    event_type: Literal["RetirePackage"] = "RetirePackage"
    package_id: PackageId


class PackageRetired(Message):
    event_type: Literal["PackageRetired"] = "PackageRetired"
    package_id: PackageId
    version: PositiveInt = Field(description="The package's latest version when retired.")


__all__ = [
    "DefinePackage",
    "Frequency",
    "Kind",
    "Money",
    "PackageDefined",
    "PackageRetired",
    "RetirePackage",
    "normalize_frequency_match",
]
