from __future__ import annotations

from pydantic import Field

from pkgshared.settings import ServiceSettings


class AllowanceSettings(ServiceSettings):
    apply_batch_customers: int = Field(
        default=500, ge=1, description="customers whose waiting calls one transaction applies"
    )
    apply_calls_per_customer: int = Field(
        default=1000, ge=1, description="waiting calls of one customer applied per transaction"
    )
