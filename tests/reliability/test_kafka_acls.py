"""Least privilege on Kafka (pkgcontract.access, deploy/local/infra.sh): every service runs over
SCRAM with its own user and does its whole job; a write outside a user's ACLs is refused; a
client without credentials gets nothing on the SASL listener; the files holding secrets are
readable by their owner only."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError

from pkgcontract import topics
from pkgtools.testing.infra import INFRA_SCRIPT
from pkgtools.testing.kafka import TopicReader, produce_keyed
from pkgtools.testing.system import command, define_package, started_system

KAFKA_HOME = INFRA_SCRIPT.parent / ".cache" / "kafka"
USERS_ENV = KAFKA_HOME / "users.env"
SASL = "127.0.0.1:9094"
MECHANISM = "SCRAM-SHA-512"


def passwords() -> dict[str, str]:
    out = {}
    for line in USERS_ENV.read_text().splitlines():
        name, _, value = line.partition("=")
        out[name.removeprefix("KAFKA_USER_").removesuffix("_PASSWORD").lower()] = value
    return out


def service_env(user: str, password: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": SASL,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": user,
        "KAFKA_SASL_PASSWORD": password,
    }


def client(user: str, password: str) -> dict[str, str]:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": user,
        "sasl_plain_password": password,
    }


@pytest.fixture
def users(kafka_bootstrap: str) -> dict[str, str]:
    if not kafka_bootstrap.startswith("127.0.0.1:") or not USERS_ENV.exists():
        pytest.skip("needs the local broker with its service users (deploy/local/infra.sh)")
    return passwords()


async def test_each_service_runs_as_its_own_user_within_its_acls(
    users: dict[str, str],
    kafka_bootstrap: str,
    database_url: str,
    tmp_path: Path,
    figures: Counter[str],
) -> None:
    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        granted = await asyncio.to_thread(
            subprocess.run,
            ["bash", str(INFRA_SCRIPT), "acls", system.prefix],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert granted.returncode == 0, granted.stderr
        for name in ("catalog", "assignment", "charger"):
            system.service(name, **service_env(name, users[name])).start()
        for process in system.services.values():
            process.wait_healthy()

        operator = client("operator", users["operator"])
        pid, customer = f"acl-{uuid.uuid4().hex[:6]}", f"cust-{uuid.uuid4().hex[:6]}"
        tick = command("ClockTicked", tick_id=str(uuid.uuid4()), at="2026-01-03T00:00:00Z")
        async with TopicReader(
            SASL,
            system.topic(topics.CATALOG_PACKAGES),
            system.topic(topics.CREDIT_DEBITED),
            system.topic(topics.CHARGER_PROGRESS),
            client_options=operator,
        ) as reader:
            await produce_keyed(
                SASL,
                system.topic(topics.CATALOG_COMMANDS),
                [(pid, define_package(pid))],
                client_options=operator,
            )
            await reader.wait_count(1, timeout=60, event_type="PackageDefined", package_id=pid)
            assign = command(
                "AssignPackage",
                assignment_id=str(uuid.uuid4()),
                customer_id=customer,
                package_id=pid,
                quantity=1,
                start_date="2026-01-01",
            )
            await produce_keyed(
                SASL,
                system.topic(topics.ASSIGNMENT_COMMANDS),
                [(customer, assign)],
                client_options=operator,
            )
            # The tick only once the assignment is published: sent right after the command,
            # it could be accepted before the assignment service has handled it.
            async with TopicReader(
                SASL, system.topic(topics.ASSIGNMENT_EVENTS), client_options=operator
            ) as events:
                await events.wait_count(1, timeout=60, event_type="PackageAssigned")
            await produce_keyed(
                SASL, system.topic(topics.CLOCK_TICKS), [("clock", tick)], client_options=operator
            )
            await reader.wait_count(1, timeout=60, event_type="ChargesSettled")
            debits = reader.matching(event_type="CreditDebited", customer_id=customer)
        assert [d.json()["period_start"] for d in debits] == [
            "2026-01-01",
            "2026-01-02",
            "2026-01-03",
        ]

        # Outside its ACLs: the assignment service's user may not write debits, the charger's
        # may not define packages.
        for user, topic in (
            ("assignment", topics.CREDIT_DEBITED),
            ("charger", topics.CATALOG_COMMANDS),
            ("operator", topics.CREDIT_DEBITED),
        ):
            producer = AIOKafkaProducer(
                bootstrap_servers=SASL, acks="all", **client(user, users[user])
            )
            await producer.start()
            try:
                with pytest.raises(TopicAuthorizationFailedError):
                    await producer.send_and_wait(system.topic(topic), b"{}", key=b"x")
            finally:
                await producer.stop()
            figures["kafka writes refused outside the ACLs"] += 1

    # No credentials on the SASL listener: not even metadata.
    anonymous = AIOKafkaProducer(bootstrap_servers=SASL, request_timeout_ms=5000)
    with pytest.raises((KafkaError, OSError, asyncio.TimeoutError)):
        await asyncio.wait_for(anonymous.start(), timeout=20)
    await anonymous.stop()
    figures["services run over their own SCRAM users"] += 3


def test_files_holding_secrets_are_readable_by_their_owner_only(users: dict[str, str]) -> None:
    secrets = [USERS_ENV, KAFKA_HOME / "server.properties", *(KAFKA_HOME / "tls").glob("*.p12")]
    assert len(secrets) >= 4
    for path in secrets:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is mode {oct(mode)}"
