"""What answers a message pkgctl sends: the topic its outcome is published on, the event that
says it was done, and how that event (or the CommandRejected naming the command) is found
among a topic's records. Pure: no Kafka here, so `pkgctl outcome` and the sending commands
match outcomes the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pkgcontract import topics

if TYPE_CHECKING:
    from pkgcontract.messages import Message


def _natural(key: str) -> str:
    from pkgcontract.messages import natural_event_id

    return str(natural_event_id(key))


Success = dict[str, Any] | list[dict[str, Any]]
"""The fields of the event that answers a message, or of each of the events that may."""
Expect = Callable[[Any], Success]

EXPECTED: dict[str, tuple[str | tuple[str, ...], Expect]] = {
    # PackageDefined/Retired are matched by package_id and the command's correlation_id (the
    # catalog copies it): another definition of the same package is not this one's outcome.
    "DefinePackage": (
        topics.CATALOG_PACKAGES,
        lambda m: {
            "event_type": "PackageDefined",
            "package_id": m.package_id,
            "correlation_id": m.correlation_id,
        },
    ),
    "RetirePackage": (
        topics.CATALOG_PACKAGES,
        lambda m: {
            "event_type": "PackageRetired",
            "package_id": m.package_id,
            "correlation_id": m.correlation_id,
        },
    ),
    # The same assignment again (under any command id) is answered with its PackageAssigned.
    "AssignPackage": (
        topics.ASSIGNMENT_EVENTS,
        lambda m: {"event_type": "PackageAssigned", "assignment_id": str(m.assignment_id)},
    ),
    # These events' ids are derived from the command's id (docs/contract.md §4).
    "ChangeAssignment": (
        topics.ASSIGNMENT_EVENTS,
        lambda m: {"event_id": _natural(f"changed:{m.event_id}")},
    ),
    "EndAssignment": (
        topics.ASSIGNMENT_EVENTS,
        lambda m: {"event_id": _natural(f"ended:{m.event_id}")},
    ),
    "SetSpendLimit": (
        topics.ASSIGNMENT_EVENTS,
        lambda m: {"event_id": _natural(f"spend-limit:{m.event_id}")},
    ),
    "ReleaseHeldCharges": (
        topics.CHARGER_EVENTS,
        lambda m: {"event_id": _natural(f"released:{m.event_id}")},
    ),
    "RunPackage": (
        topics.CHARGER_EVENTS,
        lambda m: {"event_type": "PackageRunReported", "request_id": str(m.request_id)},
    ),
    # A tick is settled, or refused on charger.events (docs/contract.md §4 ClockTicked).
    "ClockTicked": (
        (topics.CHARGER_PROGRESS, topics.CHARGER_EVENTS),
        lambda m: [
            {"event_type": "ChargesSettled", "tick_id": str(m.tick_id)},
            {"event_type": "TickRefused", "tick_id": str(m.tick_id)},
        ],
    ),
    # A top-up is granted (FreeMinutesGranted), or declined by the spend limit, by topup_id.
    "GrantMinutes": (
        (topics.FREE_MINUTES_GRANTED, topics.CHARGER_EVENTS),
        lambda m: [
            {"event_type": "FreeMinutesGranted", "topup_id": str(m.topup_id)},
            {"event_type": "ChargeDeclined", "topup_id": str(m.topup_id)},
        ],
    ),
    # Only a covered call's reversal is answered (docs/contract.md §6 Reversal).
    "UsageReversed": (
        topics.FREE_MINUTES_USED,
        lambda m: {"event_type": "FreeMinutesReturned", "usage_id": str(m.usage_id)},
    ),
    "UsageRated": (
        topics.FREE_MINUTES_USED,
        lambda m: {"event_type": "FreeMinutesUsed", "usage_id": str(m.usage_id)},
    ),
}
"""Per message type: the topic its outcome (or rejection) is published on, and the fields of
the event that says it was done."""


def expected(message: Message) -> tuple[str | tuple[str, ...], Success]:
    """The topic (or topics) `message`'s outcome is published on, and the fields of its
    success event (or of each event that may answer it)."""
    topic, fields = EXPECTED[message.TYPE]
    return topic, fields(message)


def outcome(
    objects: Iterable[dict[str, Any]], command_id: str, success: Success
) -> dict[str, Any] | None:
    """The first of `objects` that rejects command `command_id` or matches `success` (or one of
    a list; a PackageRunReported: once all its parts are there, joined)."""
    found = list(objects)
    if isinstance(success, list):
        return next(
            (o for o in found if any(outcome([o], command_id, s) is not None for s in success)),
            None,
        )
    for obj in found:
        if obj.get("event_type") == "CommandRejected":
            if obj.get("command_id") == command_id:
                return obj
        elif success.get("event_type") == "PackageRunReported":
            continue
        elif all(obj.get(k) == v for k, v in success.items()):
            return obj
    if success.get("event_type") == "PackageRunReported":
        return whole_report(found, str(success["request_id"]))
    return None


def whole_report(objects: Iterable[dict[str, Any]], request_id: str) -> dict[str, Any] | None:
    """The PackageRunReported of `request_id` once every part has arrived, its parts' lines
    joined in order (docs/contract.md §4: a report of more than 2,000 lines comes in parts)."""
    parts: dict[int, dict[str, Any]] = {}
    for obj in objects:
        if obj.get("event_type") == "PackageRunReported" and obj.get("request_id") == request_id:
            parts[int(obj.get("part", 1))] = obj
    if not parts:
        return None
    first = parts[min(parts)]
    if len(parts) < int(first.get("parts", 1)):
        return None
    lines = [line for n in sorted(parts) for line in parts[n]["lines"]]
    return first | {"lines": lines, "part": 1, "parts": len(parts)}
