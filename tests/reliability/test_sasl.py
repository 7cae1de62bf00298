"""The services' SASL settings against the local broker's SASL_PLAINTEXT listener (PLAIN;
deploy/local/kafka/server.properties): right credentials work end to end, wrong ones stop the
service with a clear, password-free error."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pkgshared import topics
from pkgshared.testing.system import System, command

SASL = "127.0.0.1:9094"


def sasl_listener_answers() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", 9094)) == 0


@pytest.fixture
def sasl_broker(kafka_bootstrap: str) -> str:
    if not kafka_bootstrap.startswith("127.0.0.1:") or not sasl_listener_answers():
        pytest.skip("needs the local broker's SASL_PLAINTEXT listener on 9094")
    return SASL


def sasl_env(password: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": SASL,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": "packages",
        "KAFKA_SASL_PASSWORD": password,
    }


async def test_a_service_works_over_sasl_plaintext(
    sasl_broker: str, kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    system = System(kafka_bootstrap, database_url, tmp_path)
    await topics.create_topics(kafka_bootstrap, topics.with_prefix(system.prefix))
    try:
        catalog = system.service("catalog", **sasl_env("packages-secret")).start()
        catalog.wait_healthy()
        pid = f"sasl-{uuid.uuid4().hex[:6]}"
        define = command(
            "DefinePackage",
            package_id=pid,
            name="s",
            kind="recurring",
            retail="1.00",
            currency="GBP",
            frequency="daily",
        )
        async with system.reader(topics.CATALOG_PACKAGES) as reader:
            await system.send(topics.CATALOG_COMMANDS, define, key=pid)
            await reader.wait_count(1, event_type="PackageDefined", package_id=pid)
        assert "packages-secret" not in catalog.log_path.read_text()

        # The operator CLI reads the same settings and reaches the SASL listener too.
        env = {**os.environ, **sasl_env("packages-secret"), "TOPIC_PREFIX": system.prefix}
        cli = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "pkgctl",
                "define",
                f"{pid}-cli",
                "--name",
                "c",
                "--kind",
                "recurring",
                "--retail",
                "2.00",
                "--currency",
                "GBP",
                "--frequency",
                "daily",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert "PackageDefined" in cli.stdout

        refused = system.service("assignment", **sasl_env("not-the-Password-42")).start()
        code = await asyncio.to_thread(refused.wait_exit, 60)
        log = refused.log_path.read_text()
        assert code == 1 and '"service failed"' in log
        assert "not-the-Password-42" not in log
    finally:
        system.stop_all()
        await system.drop()
