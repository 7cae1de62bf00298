"""Running the services as real processes in tests, with health checks and kill -9."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HARNESS_SETTINGS: dict[str, dict[str, str]] = {
    # Tests drive simulated time (ticks in 2026, 2027, years ahead of or behind the wall
    # clock): the charger's clock guard (docs/contract.md §4 ClockTicked) is off unless a test
    # (or the environment) sets CLOCK_MAX_AHEAD_SECONDS itself.
    "charger": {"CLOCK_MAX_AHEAD_SECONDS": "0"},
}
"""Settings every test process of a service gets unless the environment or the test's own env
sets them."""


class ServiceProcess:
    """One service (`python -m <module>`) with its own settings and log file."""

    def __init__(self, module: str, env: dict[str, str], log_dir: Path) -> None:
        self.module = module
        self.env = env
        self.log_path = log_dir / f"{module}-{env.get('DB_SCHEMA', '')}.log"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **extra_env: str) -> ServiceProcess:
        env = {
            **HARNESS_SETTINGS.get(self.module, {}),
            **os.environ,
            "LOG_JSON": "true",
            "HTTP_PORT": str(self.port),
            "RETRY_BACKOFF_SECONDS": "0.2",
            **self.env,
            **extra_env,
        }
        if "FAULT_INJECT" not in extra_env:
            env.pop("FAULT_INJECT", None)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.module} exited ({self.proc.returncode}):\n{self.tail()}"
                )
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{self.port}/health"
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            time.sleep(0.2)
        raise AssertionError(f"{self.module} not healthy after {timeout}s:\n{self.tail()}")

    def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """kill -9."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
