"""A message of another schema_version is read through its converters to the current model;
one with no path to it is refused as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from pkgcontract.messages import PackageDefined, Rejected, Unreadable, read
from pkgcontract.messages.versions import CONVERTERS, CURRENT, converter
from pkgtools.testing.system import define_package


@pytest.fixture
def version_two_renames_retail() -> Iterator[None]:
    """A made-up PackageDefined version 2 that renamed `retail` to `price_per_period`, read by
    this (version 1) reader through a converter, as a newer writer's message would be."""

    @converter("PackageDefined", 2, CURRENT)
    def rename_back(obj: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in obj.items() if k != "price_per_period"}
        out["retail"] = obj["price_per_period"]
        return out

    yield
    del CONVERTERS[("PackageDefined", 2)]


def _defined(**changes: Any) -> dict[str, Any]:
    cmd = define_package("gold", frequency="monthly", frequency_match=[1], retail="5.00")
    return cmd | {"event_type": "PackageDefined", "version": 1, "effective_from": None} | changes


def test_a_version_two_message_is_read_as_the_current_model(
    version_two_renames_retail: None,
) -> None:
    body = _defined(schema_version=2, price_per_period="7.50")
    del body["retail"]
    message = read("catalog.packages", json.dumps(body).encode())
    assert isinstance(message, PackageDefined)
    assert (str(message.retail), message.schema_version) == ("7.50", CURRENT)


def test_version_one_is_read_unchanged(version_two_renames_retail: None) -> None:
    message = read("catalog.packages", json.dumps(_defined()).encode())
    assert isinstance(message, PackageDefined) and str(message.retail) == "5.00"


def test_a_version_without_a_converter_is_refused_as_before() -> None:
    body = _defined(schema_version=3)
    with pytest.raises(Unreadable, match="schema_version"):
        read("catalog.packages", json.dumps(body).encode())
    command = define_package("gold", schema_version=3)
    with pytest.raises(Rejected):
        read("catalog.commands", json.dumps(command).encode())
