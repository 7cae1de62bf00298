"""The catalog's handlers with in-memory fakes: versions, retirement, and what a rejection
re-publishes (catalog.packages is compacted)."""

from __future__ import annotations

from datetime import date

import pytest

from catalog.service_layer import handlers
from pkgcontract import topics
from pkgcontract.messages import (
    CommandRejected,
    DefinePackage,
    PackageDefined,
    PackageRetired,
    RetirePackage,
)
from pkgshared.exceptions import RuleBroken
from tests.unit.fakes.catalog import FakeUnitOfWork

TODAY = date(2026, 3, 1)


def _define(**changes: object) -> DefinePackage:
    fields: dict[str, object] = {
        "package_id": "gold",
        "name": "Gold",
        "kind": "recurring",
        "retail": "5.00",
        "currency": "GBP",
        "frequency": "monthly",
        "frequency_match": [15, 1, 15],
    }
    return DefinePackage.model_validate(fields | changes)


async def test_versions_are_numbered_and_published_with_their_natural_ids() -> None:
    uow = FakeUnitOfWork()
    await handlers.handle_command(_define(), uow, handlers.Context(TODAY))
    await handlers.handle_command(_define(retail="6.00"), uow, handlers.Context(TODAY))
    first, second = uow.events()
    assert isinstance(first, PackageDefined) and isinstance(second, PackageDefined)
    assert (first.version, second.version) == (1, 2)
    assert first.frequency_match == [1, 15]  # sorted, de-duplicated
    assert second.event_id == handlers.defined_event_id("gold", 2)
    assert second.effective_from == TODAY  # a new version applies from the day handled
    assert [k for _, k, _ in uow.emitted] == ["gold", "gold"]
    assert {t for t, _, _ in uow.emitted} == {topics.CATALOG_PACKAGES}


async def test_a_retired_package_takes_no_new_version_and_a_rejection_republishes_it() -> None:
    uow = FakeUnitOfWork()
    await handlers.handle_command(_define(), uow, handlers.Context(TODAY))
    await handlers.handle_command(RetirePackage(package_id="gold"), uow, handlers.Context(TODAY))
    cmd = _define(retail="7.00")
    with pytest.raises(RuleBroken) as broken:
        await handlers.handle_command(cmd, uow, handlers.Context(TODAY))
    await handlers.reject_command(cmd, uow, broken.value)
    defined, retired, rejected, state, again = uow.events()
    assert isinstance(retired, PackageRetired) and retired.version == 1
    assert isinstance(rejected, CommandRejected) and rejected.command_id == cmd.event_id
    # The package's state follows the rejection, so it stays the last record of its key.
    assert state == defined
    assert (again.event_id, again.version) == (retired.event_id, retired.version)


async def test_retiring_an_unknown_package_is_refused() -> None:
    uow = FakeUnitOfWork()
    with pytest.raises(RuleBroken):
        await handlers.handle_command(
            RetirePackage(package_id="nothing"), uow, handlers.Context(TODAY)
        )
    assert uow.emitted == []
