"""Where the tests' real Kafka and PostgreSQL come from, in this order:

1. `KAFKA_BOOTSTRAP_SERVERS` / `DATABASE_URL` when set (an existing cluster, CI service);
2. testcontainers, when a Docker engine answers;
3. the project's local infrastructure (`deploy/local/infra.sh up`: Kafka from Maven Central,
   Debian's PostgreSQL), started if it is not running.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
INFRA_SCRIPT = ROOT / "deploy" / "local" / "infra.sh"


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    database_url: str
    source: str


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def _local() -> tuple[str, str]:
    proc = subprocess.run(
        ["bash", str(INFRA_SCRIPT), "up"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"deploy/local/infra.sh up failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in proc.stdout.splitlines()
        if line.startswith("export ")
    )
    return env["KAFKA_BOOTSTRAP_SERVERS"], env["DATABASE_URL"]


@contextlib.contextmanager
def provide_infra() -> Iterator[Infra]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    database = os.environ.get("DATABASE_URL")
    if kafka and database:
        yield Infra(kafka, database, "environment")
        return
    with contextlib.ExitStack() as stack:
        source = "environment"
        if not (kafka and database) and docker_answers():
            source = "testcontainers"
            if not kafka:
                from testcontainers.kafka import KafkaContainer

                k = stack.enter_context(KafkaContainer("apache/kafka:4.3.1").with_kraft())
                kafka = k.get_bootstrap_server()
            if not database:
                from testcontainers.postgres import PostgresContainer

                p = stack.enter_context(PostgresContainer("postgres:17-alpine", driver=None))
                database = p.get_connection_url()
        if not (kafka and database):
            source = "local"
            local_kafka, local_db = _local()
            kafka = kafka or local_kafka
            database = database or local_db
        yield Infra(kafka, database, source)


def own_broker() -> bool:
    """Is the local broker this checkout's (started by its infra.sh, so its random passwords
    are the ones `local_secret` reads)? Another checkout's broker on the same ports is used
    as a plain broker, but its SASL users have that checkout's passwords."""
    pid_file = INFRA_SCRIPT.parent / ".cache" / "kafka" / "kafka.pid"
    try:
        os.kill(int(pid_file.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def local_secret(name: str) -> str:
    """A password the local infrastructure made at random (deploy/local/.cache/kafka/
    secrets.env: TLS_PASSWORD, SASL_PASSWORD for the super user `packages`, ADMIN_PASSWORD)."""
    secrets = INFRA_SCRIPT.parent / ".cache" / "kafka" / "secrets.env"
    for line in secrets.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value
    raise KeyError(f"{name} is not in {secrets}")
