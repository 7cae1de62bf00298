from __future__ import annotations

from pydantic import Field

from pkgshared.settings import ServiceSettings


class ChargerSettings(ServiceSettings):
    charge_batch_customers: int = Field(
        default=500, ge=1, description="customers claimed and charged per transaction"
    )
    charge_concurrency: int = Field(
        default=2, ge=1, le=16, description="batches in flight at once in one process"
    )
