from __future__ import annotations

from pydantic import Field

from pkgshared.settings import ServiceSettings


class AllowanceSettings(ServiceSettings):
    apply_batch_customers: int = Field(
        default=10_000,
        ge=1,
        description="customers whose settled calls one transaction applies, at most (no row of "
        "theirs is locked: the partitions are; it bounds the grants one transaction reads)",
    )
    apply_batch_calls: int = Field(
        default=10_000, ge=1, description="settled calls one transaction applies, at most"
    )
    max_calls_waiting: int = Field(
        default=2_000_000,
        ge=1,
        description="calls held in memory waiting for the charger; beyond it, reading "
        "usage.rated pauses until some are applied (the rest waits in Kafka)",
    )
    park_ahead_seconds: int = Field(
        default=86_400,
        ge=60,
        description="a call that occurred this long or more after the charger's settled moment "
        "is parked in a table, with its customer's later calls, rather than held in memory "
        "(a clock set wrong upstream); raise it when the charger ticks less often than daily",
    )
    park_after_settles: int = Field(
        default=10,
        ge=1,
        description="a call that stays its usage.rated partition's first call waiting while "
        "the charger's settled moment moves this many times is parked too (it bounds what a "
        "restart reads again)",
    )
    apply_calls_per_customer: int = Field(
        default=1000, ge=1, description="waiting calls of one customer applied per transaction"
    )
