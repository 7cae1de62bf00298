from __future__ import annotations

from typing import TYPE_CHECKING

from assignment.adapters.events import ROUTES
from assignment.adapters.repository import AssignmentRepository, CatalogRepository
from pkgshared.uow import PostgresUnitOfWork

if TYPE_CHECKING:
    from pkgshared.db import Connection


class AssignmentUnitOfWork(PostgresUnitOfWork):
    assignments: AssignmentRepository
    catalog: CatalogRepository
    routes = ROUTES

    def open(self, conn: Connection) -> None:
        self.assignments = AssignmentRepository(conn)
        self.catalog = CatalogRepository(conn)

    async def flush(self) -> None:
        await self.assignments.flush()
