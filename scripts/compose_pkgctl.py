"""The compose test's pkgctl check (run by scripts/compose-test.sh): the operator's screens
through a profile alone, as docs/operations.md tells an operator to use them. With every
variable that would override the profile removed: `pkgctl --profile P --json status` until
every service is healthy (and then its parts: consumer lag read from Kafka, a dead-letter
line per consumed topic, the charger's clock, the system named), a package defined with
pkgctl, and `pkgctl --profile P --json trace <its command id>`: the command and its
PackageDefined, accepted.

    uv run python scripts/compose_pkgctl.py --profile compose-test

Prints what it saw; exits 1 when something is not as it should be."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid
from typing import Any, NoReturn

from pkgctl.profiles import SETTINGS


def pkgctl(profile: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS.values()}
    env.pop("PKGCTL_PROFILE", None)
    return subprocess.run(
        [sys.executable, "-m", "pkgctl", "--profile", profile, *args],
        env=env | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def fail(message: str) -> NoReturn:
    print(f"[compose-pkgctl] FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def healthy_status(profile: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        done = pkgctl(profile, "--json", "status")
        try:
            found: dict[str, Any] = json.loads(done.stdout)
        except ValueError:
            found = {}
        if done.returncode == 0 and found:
            return found
        if time.monotonic() > deadline:
            fail(f"pkgctl status did not say healthy: {done.stdout[:2000]} {done.stderr[:1000]}")
        time.sleep(2)


def check_status(profile: str) -> None:
    st = healthy_status(profile)
    services = [s["service"] for s in st["services"] if s["healthy"]]
    if services != ["catalog", "assignment", "charger", "allowance"]:
        fail(f"services healthy: {services}")
    if f"profile {profile}" not in st["system"]:
        fail(f"the system is not named by its profile: {st['system']!r}")
    if st["consumer_lag_from"] != "kafka" or not st["consumer_lag"]:
        fail(f"consumer lag not read from Kafka: {st.get('kafka_error')} {st['consumer_lag']}")
    if len(st["dead_letters"] or []) != 9:
        fail(f"dead letters: {st['dead_letters']}")
    if not st["clock"].get("charger"):
        fail(f"no charger's clock: {st['clock']}")
    for key in ("held", "declines", "waiting"):
        if "error" in st[key]:
            fail(f"{key}: {st[key]['error']}")
    screen = pkgctl(profile, "status")
    if screen.returncode != 0 or "consumer lag" not in screen.stdout:
        fail(f"pkgctl status: {screen.stdout[-2000:]} {screen.stderr[-1000:]}")
    print(screen.stdout)
    groups = len({x["group"] for x in st["consumer_lag"]})
    print(f"[compose-pkgctl] status: 4 services healthy, {groups} consumer groups, clock ok")


def check_trace(profile: str) -> None:
    package = f"compose-trace-{uuid.uuid4().hex[:6]}"
    sent = pkgctl(
        profile,
        "define",
        package,
        "--name",
        "Trace",
        "--kind",
        "recurring",
        "--retail",
        "1.00",
        "--currency",
        "GBP",
        "--frequency",
        "monthly",
        "--match",
        "1",
    )
    found = re.search(r"command id ([0-9a-f-]{36})", sent.stderr)
    if sent.returncode != 0 or found is None:
        fail(f"pkgctl define: {sent.stdout} {sent.stderr}")
    command_id = found[1]
    traced = pkgctl(profile, "--json", "trace", command_id, "--since", "1h")
    try:
        out = json.loads(traced.stdout)
    except ValueError:
        fail(f"pkgctl trace: {traced.stdout} {traced.stderr}")
    types = [m["type"] for m in out["messages"]]
    outcomes = [o["outcome"] for o in out["outcomes"]]
    if types != ["DefinePackage", "PackageDefined"] or outcomes != ["accepted"]:
        fail(f"pkgctl trace {command_id}: {types} {outcomes}")
    print(pkgctl(profile, "trace", command_id, "--since", "1h").stdout)
    print(f"[compose-pkgctl] trace {command_id}: DefinePackage, PackageDefined: accepted")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", required=True)
    args = parser.parse_args()
    check_status(args.profile)
    check_trace(args.profile)


if __name__ == "__main__":
    main()
