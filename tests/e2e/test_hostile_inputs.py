"""What a hostile client once stalled the running system with, each followed by valid work
on the same partition (or another customer's) that must still be answered within a minute
(docs/contract.md §2 and §4 Errors):
1. a 5,000-digit JSON number on catalog.commands, then a lone surrogate, then a valid command;
2. free_minutes past the bound, and the largest product that is not (10^6 x 10^5 minutes);
3. calls of 2^31 and 10^30 seconds and one dated 2999, then calls of this and another customer;
4. a valid definition whose description holds 40 `[`, and package_id given twice;
5. a consumer that cannot commit for a while: /health says 503 and why, then recovers."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from pkgcontract import topics
from pkgtools.testing.scenario import WATCHED, Scenario
from pkgtools.testing.system import command, started_system
from pkgtools.testing.waits import wait_until

pytestmark = pytest.mark.e2e

DLQS = tuple(topics.dlq_topic(t) for t in (topics.CATALOG_COMMANDS, topics.USAGE_RATED))


@pytest.fixture
async def hostile(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> AsyncIterator[Scenario]:
    modules = ("catalog", "assignment", "charger", "allowance")
    async with (
        started_system(
            kafka_bootstrap,
            database_url,
            tmp_path,
            *modules,
            STUCK_AFTER_SECONDS="3",
            HANDLER_MAX_ATTEMPTS="2",
        ) as system,
        system.reader(
            *WATCHED, *DLQS, topics.FREE_MINUTES_USED, topics.ALLOWANCE_BALANCES
        ) as reader,
    ):
        yield Scenario(system, reader)


def _define(package_id: str, **fields: Any) -> dict[str, Any]:
    return command(
        "DefinePackage",
        package_id=package_id,
        name=package_id,
        kind="recurring",
        retail="1.00",
        currency="GBP",
        frequency="monthly",
        frequency_match=[1],
        **fields,
    )


async def test_hostile_commands_and_calls_stop_nothing(hostile: Scenario) -> None:
    s = hostile
    package = f"pkg-{uuid.uuid4().hex[:8]}"
    valid = _define(package)
    digits = json.dumps(_define(package))[:-1] + ', "quantity": ' + "9" * 5000 + "}"
    surrogate = json.dumps(_define(package) | {"name": "\ud800"})  # escaped: JSON allows it
    brackets = _define(f"{package}-b", description="[" * 40 + " and a ] or two {")
    twice = json.dumps(_define(f"{package}-t"))[:-1] + f', "package_id": "{package}-u"}}'
    for raw in (digits.encode(), surrogate.encode(), json.dumps(valid).encode()):
        await s.system.send(topics.CATALOG_COMMANDS, raw, key=package)
    await s.system.send(topics.CATALOG_COMMANDS, brackets, key=brackets["package_id"])
    await s.system.send(topics.CATALOG_COMMANDS, twice.encode(), key=f"{package}-t")

    # 1 and 4: the valid commands behind are answered, the others say why.
    await s.wait(1, event_type="PackageDefined", package_id=package)
    rejected = await s.wait(1, event_type="CommandRejected", command_id=surrogate_id(surrogate))
    assert "surrogate" in rejected[0]["reason"]
    defined = await s.wait(1, event_type="PackageDefined", package_id=brackets["package_id"])
    assert defined[0]["description"].startswith("[" * 40)
    letters = await s.wait(2, event_type="DeadLetter")
    errors = sorted(letter["error"] for letter in letters)
    assert any("not JSON" in e for e in errors) and any("twice" in e for e in errors), errors
    assert not s.of("PackageDefined", package_id=f"{package}-t")
    assert not s.of("PackageDefined", package_id=f"{package}-u")

    # 2: free_minutes past the bound is rejected; the largest product is granted whole.
    minutes = await s.define(kind="free_minutes", retail="0.00", free_minutes=1_000_000)
    over = await s.send(
        topics.ASSIGNMENT_COMMANDS,
        "AssignPackage",
        s.customer,
        assignment_id=str(uuid.uuid4()),
        customer_id=s.customer,
        package_id=minutes["package_id"],
        quantity=1,
        start_date="2026-01-01",
        free_minutes=2**31,
    )
    rejected = await s.wait(1, event_type="CommandRejected", command_id=over["event_id"])
    assert rejected[0]["errors"][0]["field"] == "free_minutes"
    big = await s.assign(minutes["package_id"], quantity=100_000, start_date="2026-01-01")
    other = f"{s.customer}-other"
    plain = await s.assign(package, customer=other, start_date="2026-01-01")

    # 3: calls too long to be calls, one dated 2999, then valid calls of both customers.
    def call(customer: str, seconds: int, at: str = "2026-01-05T10:00:00Z") -> dict[str, Any]:
        return command(
            "UsageRated",
            usage_id=str(uuid.uuid4()),
            customer_id=customer,
            amount="1.000000",
            currency="GBP",
            occurred_at=at,
            destination="442071234567",
            duration_seconds=seconds,
        )

    odd = [call(s.customer, 2**31), call(s.customer, 10**30)]
    far = call(s.customer, 60, "2999-01-01T00:00:00Z")  # holds this customer's later calls
    good = [call(s.customer, 120), call(other, 60)]
    for c in [*odd, good[0], far, good[1]]:
        await s.system.send(topics.USAGE_RATED, c, key=c["customer_id"])

    await s.settle("2026-02-02T00:00:00Z")
    grant = s.of("FreeMinutesGranted", assignment_id=big)
    assert grant and grant[0]["minutes"] == 100_000_000_000
    assert s.of("CreditDebited", assignment_id=plain)
    used = await s.wait(1, event_type="FreeMinutesUsed", usage_id=good[0]["usage_id"])
    assert used[0]["covered_seconds"] == 120
    # The charger and the allowance each dead-letter the two calls that are not calls.
    usage_letters = await s.wait(
        4, event_type="DeadLetter", source_topic=s.system.topic(topics.USAGE_RATED)
    )
    assert all("duration_seconds" in letter["error"] for letter in usage_letters)
    assert not s.of("FreeMinutesUsed", usage_id=far["usage_id"])  # parked, not applied


def surrogate_id(text: str) -> str:
    return str(json.loads(text)["event_id"])


def _health(port: int) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


async def test_a_consumer_that_cannot_commit_turns_health_to_503_with_the_reason(
    hostile: Scenario, database_url: str
) -> None:
    """The catalog's outbox refuses every row for a while: each command is retried, then its
    dead letter cannot be written either, so the consumer retries the same poll. Past
    STUCK_AFTER_SECONDS (3 s here) /health answers 503 naming the consumer and the error;
    once the outbox takes rows again, the command is answered and /health says 200."""
    s = hostile
    catalog = s.system.services["catalog"]
    schema = catalog.env["DB_SCHEMA"]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            f'ALTER TABLE "{schema}".outbox_batches ADD CONSTRAINT refuse CHECK (false) NOT VALID'
        )
        package = f"pkg-{uuid.uuid4().hex[:8]}"
        await s.system.send(topics.CATALOG_COMMANDS, _define(package), key=package)

        async def stuck() -> Any:
            status, answer = await asyncio.to_thread(_health, catalog.port)
            return answer if status == 503 and answer.get("stuck") else None

        answer = await wait_until(stuck, "the catalog's /health to say it is stuck", 60)
        (work, why), *_ = answer["stuck"].items()
        assert "catalog.commands" in work and "refuse" in why, answer
        await conn.execute(f'ALTER TABLE "{schema}".outbox_batches DROP CONSTRAINT refuse')
        await s.wait(1, event_type="PackageDefined", package_id=package)

        async def healthy() -> bool:
            return (await asyncio.to_thread(_health, catalog.port))[0] == 200

        await wait_until(healthy, "the catalog's /health to recover", 60)
    finally:
        await conn.close()
