"""The allowance's unit of work: the chassis's PostgreSQL transaction with the allowance's
repository, its events' encoders and their routes (an event is emitted alone: its topic and key
come from allowance.adapters.events.ROUTES, through the chassis's `emit`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allowance.adapters.events import ENCODERS, ROUTES
from allowance.adapters.repository import AllowanceRepository
from pkgshared.uow import PostgresUnitOfWork

if TYPE_CHECKING:
    from pkgshared.db import Connection


class AllowanceUnitOfWork(PostgresUnitOfWork):
    repository: AllowanceRepository
    encoders = ENCODERS
    routes = ROUTES

    def open(self, conn: Connection) -> None:
        self.repository = AllowanceRepository(conn)
