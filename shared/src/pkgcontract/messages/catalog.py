"""Catalog messages (docs/contract.md §4 Catalog)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import (
    ConfigDict,
    Field,
    model_validator,
)

from .envelope import Message
from .fields import (
    Currency,
    Day,
    DestinationPrefix,
    FreeMinutes,
    Money,
    NonNegativeInputMoney,
    NonNegativeInt,
    NonNegativeMoney,
    PackageId,
    PositiveInt,
    Text,
    rule_error,
)
from .term_rules import (
    Frequency,
    FrequencyMatch,
    Percents,
    Proration,
    RolloverDays,
    RolloverPercent,
    normalize_frequency_match,
    package_rules,
    rollover_rules,
)

Kind = Literal["recurring", "free_minutes", "minimum_spend"]


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
        "periods an end date cuts (docs/contract.md §7); recurring and free_minutes only.",
    )
    notify_at_percent: Percents = Field(
        default_factory=list,
        description="free_minutes only: AllowanceThresholdReached when a grant's use reaches "
        "each of these percents (1 to 5 distinct, 1-100); PackageDefined lists them sorted.",
    )
    rollover_percent: RolloverPercent = Field(
        default=0,
        description="free_minutes only: the share (0-100) of a period's granted minutes that "
        "may carry over when its grant expires (docs/contract.md §6 Rollover); 0: none.",
    )
    rollover_days: RolloverDays | None = Field(
        default=None,
        description="How long carried minutes last (1-366 days): required when "
        "rollover_percent > 0, absent otherwise.",
    )
    description: Text | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _kind_rules(self) -> Self:
        rollover_rules(self.kind, self.rollover_percent, self.rollover_days)
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
    """Define a package, or a new version of it. Its money has at most 10 digits before the
    point (docs/contract.md §2); what it publishes carries it as it came."""

    event_type: Literal["DefinePackage"] = "DefinePackage"
    retail: NonNegativeInputMoney = Field(description="What the customer is charged per period.")
    cost: NonNegativeInputMoney | None = Field(
        default=None, description="What the operator pays per period (margin reporting)."
    )
    setup_retail: NonNegativeInputMoney | None = Field(
        default=None, description="Charged once when an assignment starts."
    )
    setup_cost: NonNegativeInputMoney | None = Field(
        default=None, description="Operator setup cost."
    )
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
