"""Each service's read API, driven by schemathesis from its committed OpenAPI document
(docs/openapi/, held to the code by the drift test) against the services as processes: no
request, however odd (forged cursors, NUL, 100 KB ids, every Unicode plane), gets a 500, and
every response fits the document's schema."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from pkgtools.testing.scenario import Scenario
from tests.e2e.test_read_api import get_status

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("catalog", "assignment", "charger", "allowance")
EXAMPLES = 60
"""Examples per operation: a few hundred requests a service, under a minute in all."""


def _fuzz(document: Path, base_url: str) -> dict[str, int]:
    """Every operation of the document but /health and /metrics: the requests sent to each."""
    schema = schemathesis.openapi.from_path(document).exclude(tag="operations")
    return {
        operation.label: _fuzz_operation(operation, base_url)
        for operation in (result.ok() for result in schema.get_all_operations())
    }


def _fuzz_operation(operation: Any, base_url: str) -> int:
    sent = 0

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        case.call_and_validate(
            base_url=base_url,
            checks=[not_a_server_error, response_schema_conformance],
            timeout=10,
        )

    check()
    return sent


async def test_no_read_api_answers_500_or_breaks_its_schema(everything: Scenario) -> None:
    s = everything
    system = s.system
    # A customer with an assignment, charges and a grant, for the forged cursors.
    package = await s.define(kind="free_minutes", retail="1.00", free_minutes=10)
    await s.assign(package["package_id"], start_date="2027-01-01")
    await s.settle("2027-03-02T00:00:00Z")
    await s.wait(2, event_type="AllowanceBalance", customer_id=s.customer)
    sent: dict[str, int] = {}
    for service in SERVICES:
        base = f"http://127.0.0.1:{system.services[service].port}"
        document = ROOT / "docs" / "openapi" / f"{service}.json"
        for label, n in (await asyncio.to_thread(_fuzz, document, base)).items():
            sent[f"{service} {label}"] = n
    print("read API requests sent:", sent)
    # Every route of the read APIs was fuzzed (the catalog has only /health and /metrics).
    assert len(sent) >= 5 and sum(sent.values()) >= 4 * EXAMPLES, sent
    await _forged_input(everything)


async def _forged_input(s: Scenario) -> None:
    """What a hostile client tried by hand: cursors that decode to NUL, a control character
    or a lone surrogate answer 400 on every paged API; a 100 KB id is not echoed back."""
    c = s.customer
    paged = [
        ("charger", f"/customers/{c}/charges", 2),
        ("allowance", f"/customers/{c}/allowances", 2),
        ("assignment", f"/customers/{c}/assignments", 1),
    ]
    for service, path, size in paged:
        for forged in ("\x00", "\x07", "\ud800", "2026-01-01\x00"):
            # The last value forged, any before it as a real cursor holds them.
            real = "2027-01-01T00:00:00+00:00" if service == "allowance" else "2027-01-01"
            values = [*[real] * (size - 1), forged]
            raw = json.dumps(values).encode()  # ASCII: the surrogate as an escape
            cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            status, body = await asyncio.to_thread(get_status, s, service, path, after=cursor)
            assert status == 400, (service, path, forged, status, body)
    huge = "x" * 100_000
    status, body = await asyncio.to_thread(get_status, s, "charger", f"/customers/{huge}/charges")
    assert status == 422 and len(json.dumps(body)) < 2_000, (status, len(json.dumps(body)))
