"""What a batch consumer does with the records it will not hand to a service: a command that
breaks a schema rule becomes a CommandRejected on the service's rejections topic, anything
else unreadable a DeadLetter on `<topic>.dlq`; both in the poll's unit of work (outbox)."""

from __future__ import annotations

import structlog

from pkgcontract import topics
from pkgcontract.messages import DeadLetter, Rejected
from pkgshared.incoming import Incoming
from pkgshared.uow import PostgresUnitOfWork

log = structlog.get_logger(__name__)


def sort_out(
    uow: PostgresUnitOfWork,
    fresh: list[Incoming],
    counts: dict[str, int],
    topic: str,
    rejections: str | None,
    group: str | None,
) -> list[Incoming]:
    """The readable records of `fresh`; the others rejected or dead-lettered in `uow`."""
    readable = []
    for item in fresh:
        if item.problem is None:
            readable.append(item)
        elif isinstance(item.problem, Rejected) and rejections is not None:
            uow.emit(rejections, item.key, item.problem.to_event())
            log.info(
                "command rejected",
                **item.where(),
                command_id=str(item.problem.command_id),
                command_type=item.problem.command_type,
                reason=item.problem.reason[:500],
            )
            counts["rejected"] += 1
        else:
            error = getattr(item.problem, "error", None) or str(item.problem)
            emit_dead_letter(uow, topic, group, item, error)
            counts["dead_lettered"] += 1
    return readable


def emit_dead_letter(
    uow: PostgresUnitOfWork, topic: str, group: str | None, item: Incoming, error: str
) -> None:
    letter = DeadLetter.of(
        item.source_topic or topic,
        item.partition,
        item.offset,
        item.key,
        item.value,
        error,
        group,
    )
    uow.emit(topics.dlq_topic(topic), item.key, letter)
    log.warning("message dead-lettered", **item.where(), error=error[:500])
