from __future__ import annotations

from typing import TYPE_CHECKING

from catalog.adapters.events import ROUTES
from catalog.adapters.repository import PackageRepository
from pkgshared.uow import PostgresUnitOfWork

if TYPE_CHECKING:
    from pkgshared.db import Connection


class CatalogUnitOfWork(PostgresUnitOfWork):
    packages: PackageRepository
    routes = ROUTES

    def open(self, conn: Connection) -> None:
        self.packages = PackageRepository(conn)
