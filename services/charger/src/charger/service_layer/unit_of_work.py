from __future__ import annotations

from typing import Any

from charger.adapters.store import ChargerStore
from pkgshared.uow import PostgresUnitOfWork


class ChargerUnitOfWork(PostgresUnitOfWork):
    store: ChargerStore

    def open(self, conn: Any) -> None:
        self.store = ChargerStore(conn)
