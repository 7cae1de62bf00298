from __future__ import annotations

from typing import TYPE_CHECKING

from charger.adapters.clock import ClockRepository
from charger.adapters.events import ENCODERS
from charger.adapters.ledger import LedgerRepository
from charger.adapters.projections import ProjectionRepository
from charger.adapters.topups import TopUpRepository
from pkgshared.uow import PostgresUnitOfWork

if TYPE_CHECKING:
    from pkgshared.db import Connection


class ChargerUnitOfWork(PostgresUnitOfWork):
    projections: ProjectionRepository
    ledger: LedgerRepository
    clock: ClockRepository
    topups: TopUpRepository
    encoders = ENCODERS

    def open(self, conn: Connection) -> None:
        self.projections = ProjectionRepository(conn)
        self.ledger = LedgerRepository(conn)
        self.clock = ClockRepository(conn)
        self.topups = TopUpRepository(conn)
