"""Running pkgctl as an operator would, against a test's system: its Kafka, topic prefix and
the services' read APIs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from pkgtools.testing.scenario import Scenario


async def pkgctl(s: Scenario, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": s.system.bootstrap,
        "TOPIC_PREFIX": s.system.prefix,
        "COLUMNS": "200",
        **{
            f"{name.upper()}_API": f"http://127.0.0.1:{process.port}"
            for name, process in s.system.services.items()
        },
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "pkgctl", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def ok(s: Scenario, *args: str) -> str:
    """pkgctl's output; the test fails when it exits non-zero."""
    result = await pkgctl(s, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
