from __future__ import annotations

from pydantic import Field

from pkgshared.settings import ServiceSettings


class ChargerSettings(ServiceSettings):
    charge_batch_customers: int = Field(
        default=2000,
        ge=1,
        description="customers claimed and charged per transaction: each transaction's dozen "
        "round trips are shared by about 2,400 charges (docs/benchmarks.md, issue 33)",
    )
    charge_concurrency: int = Field(
        default=2, ge=1, le=16, description="batches in flight at once in one process"
    )
    catch_up_limit: int = Field(
        default=400,
        ge=1,
        description="more charges than this for one assignment at one tick hold it "
        "(ChargesHeld) until ReleaseHeldCharges",
    )
    clock_max_ahead_seconds: int = Field(
        default=86_400,
        ge=0,
        description="a tick more than this after the charger's wall clock is refused "
        "(TickRefused); 0: no bound, for simulations and test harnesses that drive time",
    )
    charge_notice_days: int = Field(
        default=0,
        ge=0,
        le=365,
        description="days of notice (ChargeUpcoming) for package versions without "
        "notice_days; 0: none",
    )
    charge_batch_charges: int = Field(
        default=10_000,
        ge=1,
        description="charges per transaction: a batch of customers stops growing at this",
    )
    run_package_max_days: int = Field(
        default=366,
        ge=0,
        description="RunPackage's horizon: a date more than this many days after the UTC date "
        "of the latest tick is rejected (any date before the first tick)",
    )
