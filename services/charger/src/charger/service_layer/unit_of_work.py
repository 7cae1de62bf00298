from __future__ import annotations

from typing import TYPE_CHECKING, Any

from charger.adapters.repository import ChargerRepository
from pkgshared.uow import PostgresUnitOfWork

if TYPE_CHECKING:
    from pkgshared.db import Connection, Pool


class ChargerUnitOfWork(PostgresUnitOfWork):
    repository: ChargerRepository

    def __init__(self, pool: Pool, on_commit: Any = None, notice_days: int = 0) -> None:
        super().__init__(pool, on_commit)
        self._notice_days = notice_days  # CHARGE_NOTICE_DAYS: when the next notice falls due

    def open(self, conn: Connection) -> None:
        self.repository = ChargerRepository(conn, self._notice_days)
