"""The services' Kafka security settings against the local broker's SASL listeners
(deploy/local/kafka/server.properties): SASL_PLAINTEXT on 9094 and SASL_SSL on 9095, with
PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512. Right credentials work end to end (a service and the
operator CLI); a wrong password or an untrusted certificate stops the service with a clear
error that carries no password."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

from pkgcontract import topics
from pkgtools.testing.infra import INFRA_SCRIPT, local_secret, own_broker
from pkgtools.testing.system import System, define_package, started_system

CA_FILE = INFRA_SCRIPT.parent / ".cache" / "kafka" / "tls" / "ca.pem"
WRONG_PASSWORD = "not-the-Password-42"

CLI_PACKAGE = ["--name", "c", "--kind", "recurring", "--retail", "2.00", "--currency", "GBP"]
CLI_PACKAGE += ["--frequency", "daily"]
CASES = {
    "sasl-plain": ("SASL_PLAINTEXT", "PLAIN", 9094),
    "sasl-scram-256": ("SASL_PLAINTEXT", "SCRAM-SHA-256", 9094),
    "tls-scram-512": ("SASL_SSL", "SCRAM-SHA-512", 9095),
    "tls-plain": ("SASL_SSL", "PLAIN", 9095),
}


def answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def security_env(case: str, password: str, cafile: Path | None = CA_FILE) -> dict[str, str]:
    protocol, mechanism, port = CASES[case]
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
        "KAFKA_SECURITY_PROTOCOL": protocol,
        "KAFKA_SASL_MECHANISM": mechanism,
        "KAFKA_SASL_USERNAME": "packages",
        "KAFKA_SASL_PASSWORD": password,
    }
    if protocol == "SASL_SSL" and cafile is not None:
        env["KAFKA_SSL_CAFILE"] = str(cafile)
    return env


@pytest.fixture
def listener(kafka_bootstrap: str, case: str) -> None:
    port = CASES[case][2]
    if not kafka_bootstrap.startswith("127.0.0.1:") or not answers(port):
        pytest.skip(f"needs the local broker's SASL listener on {port} (deploy/local/infra.sh)")
    if not own_broker():
        pytest.skip("the local broker is another checkout's: its SASL passwords are not ours")
    if CASES[case][0] == "SASL_SSL" and not CA_FILE.exists():
        pytest.skip(f"needs the local CA {CA_FILE}")


@pytest.mark.parametrize("case", list(CASES))
async def test_services_connect_with_the_configured_security(
    listener: None,
    case: str,
    kafka_bootstrap: str,
    database_url: str,
    tmp_path: Path,
    figures: Counter[str],
) -> None:
    password = local_secret("SASL_PASSWORD")  # the super user's, random on this machine
    async with started_system(kafka_bootstrap, database_url, tmp_path) as system:
        catalog = system.service("catalog", **security_env(case, password)).start()
        catalog.wait_healthy()
        pid = f"sec-{uuid.uuid4().hex[:6]}"
        define = define_package(pid)
        async with system.reader(topics.CATALOG_PACKAGES) as reader:
            await system.send(topics.CATALOG_COMMANDS, define, key=pid)
            await reader.wait_count(1, event_type="PackageDefined", package_id=pid)
        assert password not in catalog.log_path.read_text()

        # The operator CLI reads the same settings and reaches the same listener.
        env = {**os.environ, **security_env(case, password), "TOPIC_PREFIX": system.prefix}
        cli = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "pkgctl", "define", f"{pid}-cli", *CLI_PACKAGE],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert "PackageDefined" in cli.stdout
        assert password not in cli.stdout + cli.stderr

        refused = system.service("assignment", **security_env(case, WRONG_PASSWORD)).start()
        code = await asyncio.to_thread(refused.wait_exit, 60)
        log = refused.log_path.read_text()
        assert code == 1 and '"service failed"' in log, log[-2000:]
        assert WRONG_PASSWORD not in log
        figures["kafka security settings verified"] += 1


@pytest.mark.parametrize("case", ["tls-scram-512"])
async def test_an_untrusted_broker_certificate_is_refused(
    listener: None, case: str, kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    # Without KAFKA_SSL_CAFILE the system's trust store is used, which does not know the
    # local CA: the service must refuse to talk (and so to send its password) to the broker.
    password = local_secret("SASL_PASSWORD")
    system = System(kafka_bootstrap, database_url, tmp_path)
    try:
        untrusting = system.service("catalog", **security_env(case, password, cafile=None))
        code = await asyncio.to_thread(untrusting.start().wait_exit, 90)
        log = untrusting.log_path.read_text()
        assert code == 1 and '"service failed"' in log, log[-2000:]
        assert "CERTIFICATE_VERIFY_FAILED" in log or "certificate verify failed" in log, log[-2000:]
        assert password not in log
    finally:
        system.stop_all()
        await system.drop()


@pytest.mark.parametrize("case", ["sasl-plain", "sasl-scram-256"])
async def test_no_password_written_in_the_repository_works(listener: None, case: str) -> None:
    """The super users' passwords are random on each machine: the ones this repository once
    held (and any other guess) are refused on the SASL listener."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    protocol, mechanism, port = CASES[case]
    for user, guess in (("packages", "packages-secret"), ("admin", "admin-secret")):
        producer = AIOKafkaProducer(
            bootstrap_servers=f"127.0.0.1:{port}",
            security_protocol=protocol,
            sasl_mechanism=mechanism,
            sasl_plain_username=user,
            sasl_plain_password=guess,
            request_timeout_ms=10_000,
        )
        with pytest.raises(KafkaError):
            await producer.start()
        await producer.stop()
    assert local_secret("SASL_PASSWORD") not in ("packages-secret", "")
