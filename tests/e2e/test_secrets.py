"""No secret appears in a log line: the database password and the SASL password given in the
settings never reach the output, not even when the database refuses the password."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pkgtools.testing.system import System

SASL_SECRET = "sasl-Secret-7f3e9"
WRONG_SECRET = "wrong-Secret-5b21"


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user = parts.username or "packages"
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{password}@{host}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


async def test_passwords_never_reach_the_logs(
    kafka_bootstrap: str, database_url: str, tmp_path: Path
) -> None:
    system = System(kafka_bootstrap, database_url, tmp_path)
    try:
        good = system.service("catalog", KAFKA_SASL_PASSWORD=SASL_SECRET, LOG_LEVEL="DEBUG")
        good.start()
        good.wait_healthy()
        good.stop()

        bad = system.service(
            "assignment",
            DATABASE_URL=with_password(database_url, WRONG_SECRET),
            KAFKA_SASL_PASSWORD=SASL_SECRET,
            LOG_LEVEL="DEBUG",
        )
        bad.start()
        code = await asyncio.to_thread(bad.wait_exit, 60)
        assert code != 0  # the database refused the password
    finally:
        system.stop_all()
        await system.drop()
    logs = good.log_path.read_text() + bad.log_path.read_text()
    assert "password authentication failed" in logs or "InvalidPassword" in logs
    assert SASL_SECRET not in logs
    assert WRONG_SECRET not in logs
