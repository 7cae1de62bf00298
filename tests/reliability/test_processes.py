"""`make up`'s processes can be stopped: the pid kept in the run directory is the service
process itself, so kill -9 of it frees its port at once and the next `up` starts it again;
`down` leaves no process and no port taken. Driven through scripts/up.sh and down.sh with a
run directory and ports of the test's own, no ticker and no demo."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import asyncpg
import pytest

from pkgtools.testing.waits import wait_until

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
PORT = 18181


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by its parent) holds no port: it counts as gone.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


TAG = f"proc{uuid.uuid4().hex[:8]}"
"""The schemas this test's services use (catalog_<TAG>): dropped at its end, so that no
schema of `make up`'s names is left owned by the test's database user."""


def _script(name: str, run_dir: Path, kafka_bootstrap: str, database_url: str) -> str:
    env = {
        "SCHEMA_TAG": TAG,
        **os.environ,
        "RUN_DIR": str(run_dir),
        "PKGCTL_PROFILES": str(run_dir / "profiles.toml"),  # not the user's profile `local`
        "HTTP_PORT_BASE": str(PORT),
        "SERVICES": "catalog",
        "TICKER": "0",
        "DEMO": "0",
        "KEEP_INFRA": "1",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": database_url,
    }
    done = subprocess.run(
        ["bash", f"scripts/{name}.sh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


async def test_kill_9_of_a_service_frees_its_port_and_up_starts_it_again(
    tmp_path: Path, kafka_bootstrap: str, database_url: str
) -> None:
    if not kafka_bootstrap.startswith("127.0.0.1:") or _listening(PORT):
        pytest.skip("needs the local infrastructure and a free port 18181")
    pidfile = tmp_path / "pids" / "catalog.pid"
    try:
        _script("up", tmp_path, kafka_bootstrap, database_url)
        pid = int(pidfile.read_text())
        cmdline = _cmdline(pid)
        assert "catalog-service" in cmdline and "uv run" not in cmdline, cmdline
        assert _listening(PORT)

        os.kill(pid, 9)
        await wait_until(lambda: not _alive(pid), "the killed service to be gone", 10)
        await wait_until(lambda: not _listening(PORT), "its port to be free", 10)

        out = _script("up", tmp_path, kafka_bootstrap, database_url)
        assert "catalog started" in out, out
        again = int(pidfile.read_text())
        assert again != pid and _listening(PORT)
    finally:
        _script("down", tmp_path, kafka_bootstrap, database_url)
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "catalog_{TAG}" CASCADE')
        finally:
            await conn.close()
    assert not pidfile.exists()
    await wait_until(lambda: not _listening(PORT), "no port taken after down", 10)
    assert not _alive(again)
