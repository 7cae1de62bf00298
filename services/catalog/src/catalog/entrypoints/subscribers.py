"""The catalog's Kafka subscribers: a command read, its handler called, nothing else
(named functions; bootstrap.py subscribes them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from catalog.adapters.unit_of_work import CatalogUnitOfWork
from catalog.service_layer import handlers
from pkgcontract.messages import Message
from pkgshared.exceptions import RuleBroken


async def on_command(
    uow: CatalogUnitOfWork, command: Any, _key: str, *, today: Callable[[], date]
) -> None:
    await handlers.handle_command(command, uow, handlers.Context(today()))


async def on_rejected(
    uow: CatalogUnitOfWork, command: Message, _key: str, broken: RuleBroken
) -> None:
    await handlers.reject_command(command, uow, broken)
