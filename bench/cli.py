"""How quickly pkgctl answers (issue 28: `pkgctl --help` under 0.5 s, `pkgctl clock` and
`pkgctl customer` under 1 s on this machine): each command run N times as an operator runs
it, against `make up`'s services; medians printed and written to bench/results/cli-*.json.

    uv run python bench/cli.py [--runs 7] [--customer ID]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(args: list[str], runs: int) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pkgctl", *args], capture_output=True, check=False
        )
        seconds.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            raise SystemExit(f"pkgctl {' '.join(args)} failed: {done.stderr.decode()[-500:]}")
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--customer", default="demo-customer")
    args = parser.parse_args()
    commands = {
        "pkgctl --help": ["--help"],
        "pkgctl clock": ["clock"],
        "pkgctl customer": ["customer", args.customer],
        "pkgctl packages": ["packages"],
    }
    figures = {name: timed(cmd, args.runs) for name, cmd in commands.items()}
    for name, f in figures.items():
        print(f"{name:<20} median {f['median_s']:.3f} s (fastest {f['min_s']:.3f} s)")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"cli-{stamp}.json").write_text(json.dumps({"runs": args.runs, **figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
