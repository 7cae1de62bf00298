"""Telling a failure of the infrastructure (PostgreSQL or Kafka unreachable, a conflict to
retry) from a failure of the work itself (a message, a charge, a call that fails the same way
every time). The first is retried without end; the second is retried a bounded number of
times and then set aside (dead-lettered, or its assignment held), so that it stops nothing
else (docs/contract.md §4 Errors)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
import structlog
from aiokafka.errors import KafkaError

log = structlog.get_logger(__name__)
T = TypeVar("T")

INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionError, TimeoutError among them
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    KafkaError,
)

Healthy = Callable[[], Awaitable[bool]]


async def infrastructure_failed(exc: BaseException, healthy: Healthy | None) -> bool:
    """Is `exc` a failure of PostgreSQL or Kafka rather than of the work? Besides the errors
    that say so, any error while `healthy` (PostgreSQL answering) says no counts as one."""
    if isinstance(exc, INFRASTRUCTURE_ERRORS):
        return True
    if healthy is None:
        return False
    try:
        return not await healthy()
    except Exception:
        return True


async def pause(attempt: int, first: float, most: float) -> None:
    """The pause after try `attempt`: doubling from `first`, at most `most`."""
    await asyncio.sleep(min(first * 2 ** (attempt - 1), most))


@dataclass(frozen=True)
class Tries:
    """How often a piece of work is tried before it is set aside."""

    attempts: int = 5
    first_retry_seconds: float = 0.05
    most_seconds: float = 1.0


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What trying a piece of work gave: its value, or the last error when every try failed
    for the work's own sake."""

    done: bool
    value: T | None = None
    error: str = ""


async def tried(
    work: Callable[[], Awaitable[T]], tries: Tries, healthy: Healthy | None, **where: Any
) -> Outcome[T]:
    """Try `work` up to `tries.attempts` times. A failure of the infrastructure is raised (the
    caller retries without end); a failure of the work itself is retried after a pause, and
    after the last try returned as the Outcome's error. `where` names the work in the logs."""
    error = ""
    for attempt in range(1, tries.attempts + 1):
        try:
            return Outcome(True, await work())
        except Exception as exc:
            if await infrastructure_failed(exc, healthy):
                raise
            error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "work failed; it will be retried" if attempt < tries.attempts else "work failed",
                **where,
                attempt=attempt,
                error=error[:500],
                exc_info=attempt == 1,
            )
            if attempt < tries.attempts:
                await pause(attempt, tries.first_retry_seconds, tries.most_seconds)
    return Outcome(False, error=error)
