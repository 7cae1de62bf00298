"""Message models of the contract (CONTRACT.md), and reading them from raw bytes."""

from .assignment import (
    AssignmentChanged,
    AssignmentEnded,
    AssignPackage,
    ChangeAssignment,
    EndAssignment,
    PackageAssigned,
    SetSpendLimit,
    SpendLimitSet,
)
from .catalog import (
    DefinePackage,
    PackageDefined,
    PackageRetired,
    RetirePackage,
    normalize_frequency_match,
)
from .charger import (
    ChargeDeclined,
    ChargesSettled,
    CreditDebited,
    FreeMinutesGranted,
    PackageRunReported,
    RunLine,
    RunPackage,
)
from .clock import ClockTicked, UsageRated
from .envelope import Message
from .errors import CommandRejected, DeadLetter, FieldError
from .fields import instant_str, money_str, natural_event_id, natural_event_id_str
from .reading import (
    COMMANDS,
    MESSAGE_TYPES,
    TOPIC_MESSAGES,
    Rejected,
    Unreadable,
    decode_json,
    field_errors,
    read,
    read_object,
)

__all__ = [
    "COMMANDS",
    "MESSAGE_TYPES",
    "TOPIC_MESSAGES",
    "AssignPackage",
    "AssignmentChanged",
    "AssignmentEnded",
    "ChangeAssignment",
    "ChargeDeclined",
    "ChargesSettled",
    "ClockTicked",
    "CommandRejected",
    "CreditDebited",
    "DeadLetter",
    "DefinePackage",
    "EndAssignment",
    "FieldError",
    "FreeMinutesGranted",
    "Message",
    "PackageAssigned",
    "PackageDefined",
    "PackageRetired",
    "PackageRunReported",
    "Rejected",
    "RetirePackage",
    "RunLine",
    "RunPackage",
    "SetSpendLimit",
    "SpendLimitSet",
    "Unreadable",
    "UsageRated",
    "decode_json",
    "field_errors",
    "instant_str",
    "money_str",
    "natural_event_id",
    "natural_event_id_str",
    "normalize_frequency_match",
    "read",
    "read_object",
]
