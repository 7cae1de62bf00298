"""pkgctl's entry point: the command line of cli.py with the commands of COMMAND_MODULES
registered on it."""

from __future__ import annotations

import importlib
import os
import sys

from pkgctl.api import ApiNotSet, ApiUnreachable
from pkgctl.cli import app

# Imported in this order because it is the order of `pkgctl --help`: catalog and assignments,
# then the charger's and the allowance's commands, what became of a command and its trace,
# the whole system, then the reads, topics and dead letters.
COMMAND_MODULES = (
    "catalog_commands",
    "commands",
    "charging",
    "topups",
    "outcome",
    "trace",
    "status",
    "reads",
    "tailing",
    "dlq",
    "systems",
)
for _module in COMMAND_MODULES:
    importlib.import_module(f"pkgctl.{_module}")

__all__ = ["app", "main"]


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        app()
    except ApiUnreachable as exc:  # a read outside cli.run: one line, never a traceback
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2 if isinstance(exc, ApiNotSet) else 1) from None
