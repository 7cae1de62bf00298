"""Where a charge run's events go: the topic of each charge event (key customer_id), and
emitting many of them with breaths between (pkgshared.pacing), so that encoding a large run
never holds the event loop."""

from __future__ import annotations

from charger.domain.events import ChargeEvent, DebitDeclined, DebitMade, GrantMade
from charger.service_layer.ports import UnitOfWork
from pkgcontract import topics
from pkgshared.pacing import breathe

TOPIC_OF = {
    DebitMade: topics.CREDIT_DEBITED,
    GrantMade: topics.FREE_MINUTES_GRANTED,
    DebitDeclined: topics.CHARGER_EVENTS,
}
"""The topic of each charge event."""


async def emit_charges(uow: UnitOfWork, events: list[ChargeEvent]) -> None:
    """Emit `events` (each encoded now, by the unit of work), keyed by their customer."""
    for e in events:
        uow.emit(TOPIC_OF[type(e)], e.charge.assignment.customer_id, e)
        await breathe()
