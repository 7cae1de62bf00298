"""Charger inputs that several test tiers build alike (the unit tests with the fakes, the
integration tests against PostgreSQL)."""

from __future__ import annotations

import uuid

from pkgcontract.messages import PackageAssigned, PackageDefined


def minimum_spend(customer_id: str = "acme") -> tuple[PackageDefined, PackageAssigned]:
    """A monthly minimum spend of 10.00 GBP (package `min`) and its assignment from
    2026-01-01."""
    package = PackageDefined(
        package_id="min",
        version=1,
        name="min",
        kind="minimum_spend",
        retail="10.00",
        currency="GBP",
        frequency="monthly",
        frequency_match=[1],
        effective_from=None,
    )
    assigned = PackageAssigned(
        assignment_id=uuid.uuid4(),
        customer_id=customer_id,
        package_id="min",
        package_version=1,
        quantity=1,
        start_date="2026-01-01",
        auto_decrement_credit=True,
        timezone="UTC",
    )
    return package, assigned
