from __future__ import annotations

from typing import Any

from charger.adapters.store import ChargerStore
from pkgshared.uow import PostgresUnitOfWork


class ChargerUnitOfWork(PostgresUnitOfWork):
    store: ChargerStore

    def __init__(self, pool: Any, on_commit: Any = None, notice_days: int = 0) -> None:
        super().__init__(pool, on_commit)
        self._notice_days = notice_days  # CHARGE_NOTICE_DAYS: when the next notice falls due

    def open(self, conn: Any) -> None:
        self.store = ChargerStore(conn, self._notice_days)
