"""Assignment messages (docs/contract.md §4 Assignment)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from .envelope import Message
from .fields import (
    Currency,
    CustomerId,
    Day,
    Did,
    Flag,
    FreeMinutes,
    NonNegativeInputMoney,
    NonNegativeMoney,
    PackageId,
    PositiveInt,
    Quantity,
    TimeZoneName,
    Uuid,
    rule_error,
)


class _AssignmentTerms(Message):
    assignment_id: Uuid = Field(
        description="Chosen by the sender; the same command twice creates one assignment."
    )
    customer_id: CustomerId
    did: Did | None = Field(default=None, description="The package applies to this DID only.")
    package_id: PackageId
    quantity: Quantity = Field(description="1 to 100000.")
    start_date: Day
    end_date: Day | None = Field(default=None, description="Inclusive; >= start_date.")
    auto_decrement_credit: Flag = Field(
        default=True, description="false: ticks grant free minutes but emit no CreditDebited."
    )
    free_minutes: FreeMinutes | None = Field(
        default=None, description="Overrides the package's free_minutes for this assignment."
    )
    timezone: TimeZoneName = Field(
        default="UTC", description="IANA zone in which this assignment's billing dates begin."
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.end_date is not None and self.end_date < self.start_date:
            raise rule_error("end_before_start", "end_date is before start_date", "end_date")
        return self


class AssignPackage(_AssignmentTerms):
    """Assign a package to a customer, or to one of the customer's DIDs."""

    event_type: Literal["AssignPackage"] = "AssignPackage"


class PackageAssigned(_AssignmentTerms):
    event_type: Literal["PackageAssigned"] = "PackageAssigned"
    package_version: PositiveInt = Field(description="Catalog version in force when assigned.")


CHANGEABLE = ("quantity", "end_date", "auto_decrement_credit", "free_minutes", "effective_from")


class ChangeAssignment(Message):
    """Change an assignment; fields left out keep their value (end_date: null removes it)."""

    event_type: Literal["ChangeAssignment"] = "ChangeAssignment"
    assignment_id: Uuid
    quantity: Quantity | None = None
    end_date: Day | None = None
    auto_decrement_credit: Flag | None = None
    free_minutes: FreeMinutes | None = None
    effective_from: Day | None = Field(
        default=None,
        description="Periods starting on or after it use the new values; default: the day "
        "processed. end_date takes effect as stated.",
    )

    def to_json(self) -> bytes:
        """Only the fields given: a field left out keeps its value, an explicit null clears it."""
        left_out = {f for f in CHANGEABLE if f not in self.model_fields_set}
        return self.model_dump_json(exclude=left_out).encode()


class AssignmentChanged(_AssignmentTerms):
    """The full new state of an assignment."""

    event_type: Literal["AssignmentChanged"] = "AssignmentChanged"
    package_version: PositiveInt
    effective_from: Day


class EndAssignment(Message):
    event_type: Literal["EndAssignment"] = "EndAssignment"
    assignment_id: Uuid
    end_date: Day | None = Field(default=None, description="Default: the day processed.")


class AssignmentEnded(Message):
    event_type: Literal["AssignmentEnded"] = "AssignmentEnded"
    assignment_id: Uuid
    customer_id: CustomerId
    did: Did | None = None
    package_id: PackageId
    end_date: Day = Field(description="Last day (inclusive) a period may start on.")


class SetSpendLimit(Message):
    """Cap the sum of a customer's debits per calendar month (null removes the cap)."""

    event_type: Literal["SetSpendLimit"] = "SetSpendLimit"
    customer_id: CustomerId
    monthly_limit: NonNegativeInputMoney | None = Field(
        description="At most 10 digits before the point; null removes the limit."
    )
    currency: Currency


class SpendLimitSet(Message):
    event_type: Literal["SpendLimitSet"] = "SpendLimitSet"
    customer_id: CustomerId
    monthly_limit: NonNegativeMoney | None
    currency: Currency
