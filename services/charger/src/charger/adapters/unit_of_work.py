"""The charger's unit of work: the chassis's PostgreSQL transaction with the charger's
repositories, its events' encoders and their routes (an event is emitted alone: its topic and
key come from charger.adapters.events.ROUTES)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from charger.adapters.clock import ClockRepository
from charger.adapters.events import ENCODERS, ROUTES
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
    routes = ROUTES

    def open(self, conn: Connection) -> None:
        self.projections = ProjectionRepository(conn)
        self.ledger = LedgerRepository(conn)
        self.clock = ClockRepository(conn)
        self.topups = TopUpRepository(conn)
