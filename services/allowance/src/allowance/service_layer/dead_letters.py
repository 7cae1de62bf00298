"""A call whose applying fails for its own sake on every try (docs/contract.md §4 Errors): its
dead letter, in the caller's unit of work."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from allowance import metrics
from allowance.domain.model import Call
from allowance.domain.reversal import Reversal, Usage
from allowance.service_layer.handlers import NONE, Dependencies
from allowance.service_layer.ports import UnitOfWork
from pkgcontract.messages import DeadLetter, Message, UsageRated, UsageReversed

log = structlog.get_logger(__name__)


def usage_of(call: Usage) -> Message:
    """The call as a UsageRated again, the reversal as a UsageReversed (what a dead letter of
    it carries: its original bytes are not kept once read)."""
    if isinstance(call, Reversal):
        return UsageReversed(
            event_id=call.reversal_id,
            reversal_id=call.reversal_id,
            usage_id=call.usage_id,
            customer_id=call.customer_id,
        )
    return UsageRated(
        event_id=call.usage_id,
        usage_id=call.usage_id,
        customer_id=call.customer_id,
        did=call.did,
        occurred_at=call.occurred_at,
        amount=call.amount,
        currency=call.currency,
        destination=call.destination,
        duration_seconds=call.duration_seconds,
    )


@dataclass(frozen=True)
class CallFailed:
    """A call whose applying failed on every try: where it was read (source topic, partition,
    offset; partition and offset -1 when it was parked), the error, the consumer group."""

    call: Usage  # a call, or a reversal
    where: tuple[str, int, int]
    error: str
    consumer: str


async def dead_letter_call(failed: CallFailed, uow: UnitOfWork, deps: Dependencies = NONE) -> None:
    """A call whose applying fails for its own sake on every retry: it goes to
    usage.rated.dlq with the error (docs/contract.md §4 Errors), counts as applied (a repeat of it
    is ignored), and the customer's later calls go on. A reversal likewise, but it marks
    nothing: its call stays as it is (replaying the dead letter reverses it then)."""
    call, error, consumer = failed.call, failed.error, failed.consumer
    if isinstance(call, Call):
        await uow.repository.first_applied([call.usage_id])
    topic, partition, offset = failed.where
    letter = DeadLetter.of(
        topic,
        partition,
        offset,
        call.customer_id.encode(),
        usage_of(call).to_json(),
        f"applying failed on every retry: {error} (payload: the call as read, written again)",
        consumer,
    )
    uow.emit(letter)
    metrics.DEAD_LETTERED.inc()
    log.error(
        "call dead-lettered: applying it fails on every retry"
        if isinstance(call, Call)
        else "reversal dead-lettered: applying it fails on every retry",
        customer_id=call.customer_id,
        usage_id=str(call.usage_id),
        partition=partition,
        offset=offset,
        error=error[:500],
    )
