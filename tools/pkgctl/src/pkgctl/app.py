"""pkgctl's entry point: the command line of cli.py with the commands of commands.py,
reads.py and dlq.py registered on it."""

from __future__ import annotations

import os

from pkgctl import commands, dlq, reads
from pkgctl.cli import app

__all__ = ["app", "commands", "dlq", "main", "reads"]


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app()
