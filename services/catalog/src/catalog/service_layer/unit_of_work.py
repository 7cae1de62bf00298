from __future__ import annotations

from typing import Any

from catalog.adapters.repository import PackageRepository
from pkgshared.uow import PostgresUnitOfWork


class CatalogUnitOfWork(PostgresUnitOfWork):
    packages: PackageRepository

    def open(self, conn: Any) -> None:
        self.packages = PackageRepository(conn)
