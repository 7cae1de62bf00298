"""Telling a failure of the infrastructure (PostgreSQL or Kafka unreachable, a conflict to
retry) from a failure of the work itself (a message, a charge, a call that fails the same way
every time). The first is retried without end; the second is retried a bounded number of
times and then set aside (dead-lettered, or its assignment held), so that it stops nothing
else (CONTRACT.md §4 Errors)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
from aiokafka.errors import KafkaError

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


def backoff(attempt: int, first: float, most: float) -> float:
    """The pause before try `attempt + 1`: doubling from `first`, at most `most`."""
    return float(min(first * 2 ** (attempt - 1), most))


async def pause(attempt: int, first: float, most: float) -> None:
    await asyncio.sleep(backoff(attempt, first, most))
