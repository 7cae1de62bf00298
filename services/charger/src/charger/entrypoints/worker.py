"""The tick worker: the generic notified loop (pkgshared.workers) around one handler,
`charge_due`. Ticks accepted by any instance wake it (NOTIFY on the clock's commit); it hands
over and waits again. Claims, transactions and failure isolation are the service layer's
(charger.service_layer.charge_due)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from charger.adapters.clock import TICK_CHANNEL
from charger.service_layer.charge_due import charge_due
from charger.service_layer.dependencies import Dependencies
from charger.service_layer.ports import UnitsOfWork
from pkgshared.workers import NotifiedWorker

if TYPE_CHECKING:
    from pkgshared.db import Pool


def tick_worker(
    pool: Pool, units: UnitsOfWork, deps: Dependencies, concurrency: int = 2
) -> NotifiedWorker:
    """`concurrency` loops that charge what is due whenever a tick wakes them."""
    return NotifiedWorker(
        pool,
        concurrency=concurrency,
        drain=partial(charge_due, units, deps),
        channel=TICK_CHANNEL,
        what="tick work",
    )
