"""Catalog rules as pure functions: no Kafka, no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from catalog.domain import model
from pkgcontract.messages import DefinePackage, PackageDefined, RetirePackage
from pkgshared.exceptions import RuleBroken

TODAY = date(2026, 5, 20)


def cmd(**over: Any) -> DefinePackage:
    fields: dict[str, Any] = {
        "package_id": "uk-100",
        "name": "UK",
        "kind": "free_minutes",
        "retail": Decimal("5.00"),
        "currency": "GBP",
        "frequency": "monthly",
        "frequency_match": [31, 15, 15],
        "free_minutes": 100,
    }
    fields.update(over)
    return DefinePackage(**fields)


def first() -> PackageDefined:
    return model.define(None, cmd(), TODAY)


def test_version_one_is_in_force_from_the_beginning_with_a_sorted_match() -> None:
    v1 = first()
    assert v1.version == 1 and v1.effective_from is None
    assert v1.frequency_match == [15, 31]


def test_a_new_version_defaults_to_today_and_may_change_terms() -> None:
    v2 = model.define(model.PackageState(first(), False), cmd(retail=Decimal("6")), TODAY)
    assert v2.version == 2 and v2.effective_from == TODAY and v2.retail == Decimal("6")
    v3 = model.define(model.PackageState(v2, False), cmd(effective_from=date(2026, 7, 1)), TODAY)
    assert v3.version == 3 and v3.effective_from == date(2026, 7, 1)


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"currency": "EUR"}, "currency"),
        ({"frequency": "weekly", "frequency_match": [1]}, "frequency"),
        ({"frequency_match": [1]}, "frequency_match"),
        ({"kind": "recurring", "free_minutes": None}, "kind"),
    ],
)
def test_a_new_version_cannot_change_what_the_package_is(over: dict[str, Any], field: str) -> None:
    with pytest.raises(RuleBroken) as info:
        model.define(model.PackageState(first(), False), cmd(**over), TODAY)
    assert field in {e.field for e in info.value.errors}


def test_a_retired_package_cannot_be_redefined_or_retired_again() -> None:
    retired = model.PackageState(first(), True)
    with pytest.raises(RuleBroken, match="retired"):
        model.define(retired, cmd(), TODAY)
    with pytest.raises(RuleBroken, match="already retired"):
        model.retire(retired, RetirePackage(package_id="uk-100"))


def test_retiring_names_the_latest_version_and_unknown_packages_are_rejected() -> None:
    event = model.retire(model.PackageState(first(), False), RetirePackage(package_id="uk-100"))
    assert event.version == 1 and event.package_id == "uk-100"
    with pytest.raises(RuleBroken, match="unknown package"):
        model.retire(None, RetirePackage(package_id="nope"))


def test_rollover_terms_are_carried_and_a_new_version_may_change_them() -> None:
    v1 = model.define(None, cmd(rollover_percent=50, rollover_days=30), TODAY)
    assert (v1.rollover_percent, v1.rollover_days) == (50, 30)
    v2 = model.define(model.PackageState(v1, False), cmd(), TODAY)  # rollover dropped
    assert (v2.version, v2.rollover_percent, v2.rollover_days) == (2, 0, None)
    v3 = model.define(
        model.PackageState(v2, False), cmd(rollover_percent=100, rollover_days=366), TODAY
    )
    assert (v3.version, v3.rollover_percent, v3.rollover_days) == (3, 100, 366)
    assert '"rollover_percent":100,"rollover_days":366' in v3.to_json().decode()
