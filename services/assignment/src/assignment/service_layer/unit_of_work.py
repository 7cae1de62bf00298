from __future__ import annotations

from typing import Any

from assignment.adapters.repository import AssignmentRepository, CatalogView
from pkgshared.uow import PostgresUnitOfWork


class AssignmentUnitOfWork(PostgresUnitOfWork):
    assignments: AssignmentRepository
    catalog: CatalogView

    def open(self, conn: Any) -> None:
        self.assignments = AssignmentRepository(conn)
        self.catalog = CatalogView(conn)

    async def flush(self) -> None:
        await self.assignments.flush()
