from __future__ import annotations

from typing import TYPE_CHECKING

from allowance.adapters.events import ENCODERS
from allowance.adapters.repository import AllowanceRepository
from pkgshared.uow import PostgresUnitOfWork

if TYPE_CHECKING:
    from pkgshared.db import Connection


class AllowanceUnitOfWork(PostgresUnitOfWork):
    repository: AllowanceRepository
    encoders = ENCODERS

    def open(self, conn: Connection) -> None:
        self.repository = AllowanceRepository(conn)
