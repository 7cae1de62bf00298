from __future__ import annotations

from typing import Any

from allowance.adapters.store import AllowanceStore
from pkgshared.uow import PostgresUnitOfWork


class AllowanceUnitOfWork(PostgresUnitOfWork):
    store: AllowanceStore

    def open(self, conn: Any) -> None:
        self.store = AllowanceStore(conn)
