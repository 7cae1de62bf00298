"""Where the assignment service's events go (docs/contract.md §3): every one to
assignment.events under its customer, so that one customer's events stay in order. Handlers
emit an event and nothing else; rejections are the chassis's (pkgshared.commands)."""

from __future__ import annotations

from pkgcontract import topics
from pkgcontract.messages import AssignmentChanged, AssignmentEnded, PackageAssigned, SpendLimitSet
from pkgshared.uow import Route


def _of_customer(
    e: PackageAssigned | AssignmentChanged | AssignmentEnded | SpendLimitSet,
) -> tuple[str, str]:
    return topics.ASSIGNMENT_EVENTS, e.customer_id


ROUTES: dict[type, Route] = {
    PackageAssigned: _of_customer,
    AssignmentChanged: _of_customer,
    AssignmentEnded: _of_customer,
    SpendLimitSet: _of_customer,
}
