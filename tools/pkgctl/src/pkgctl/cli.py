"""pkgctl: the operator's command line. Every command is checked against the contract's models
before anything is sent; commands then wait for their outcome on the matching event topic.

Exit codes: 0 done, 1 rejected, unknown or timed out, 2 bad input or settings.
Which system: --profile NAME (or PKGCTL_PROFILE), a profile of
~/.config/pkgctl/profiles.toml ($XDG_CONFIG_HOME; `make up` writes `local`, `make
compose-up` writes `compose`; `pkgctl profiles` lists them). Environment variables win over
the profile: KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM,
KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SSL_CAFILE, TOPIC_PREFIX; CATALOG_API,
ASSIGNMENT_API, CHARGER_API, ALLOWANCE_API (the read APIs, http://host:port). No profile and
no variables: the only profile, said so; else pkgctl says how to choose.

Every command it sends carries a new correlation_id, which the events it causes carry too.
Every command that sends says its ids first; given back (--command-id, ...) they
send the same command again, which is not applied twice (`pkgctl outcome ID`: what became of
one).
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pkgctl import api, profiles

if TYPE_CHECKING:
    from rich.console import Console

# Plain help and plain tracebacks: typer's rich help loads rich and markdown-it, about 0.4 s of
# a start that `pkgctl --help` should not pay (docs/benchmarks.md).
app = typer.Typer(
    help=__doc__, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False
)

dlq_app = typer.Typer(
    help="Inspect and replay dead letters.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(dlq_app, name="dlq")

# Piped output is not cut at 80 columns (rich's default without a terminal).
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200


class _Console:
    """A rich Console made on first use: commands that print nothing rich never import rich."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


out: Console = _Console(width=_WIDTH)  # type: ignore[assignment]

err: Console = _Console(stderr=True, width=_WIDTH)  # type: ignore[assignment]


class Options:
    json = False


@app.callback()
def options(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what comes back as JSON, for scripts.")
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="the system to talk to: a profile of profiles.toml (default: PKGCTL_PROFILE)",
        ),
    ] = None,
) -> None:
    Options.json = as_json
    profiles.select(profile)


def emit_json(obj: Any) -> None:
    print(json.dumps(obj, default=str))


Wait = Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the outcome.")]

Timeout = Annotated[float, typer.Option(help="Seconds to wait for the outcome.")]


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def run(coro: Any) -> Any:
    """Run `coro`; what goes wrong reaching the system becomes an error message and exit 1."""
    import asyncio  # here: `pkgctl --help` does without it

    try:
        return asyncio.run(coro)
    except api.ApiNotSet as exc:
        raise fail(str(exc), 2) from None
    except api.ApiUnreachable as exc:
        raise fail(str(exc), 1) from None
    except Exception as exc:
        message = _kafka_failure(exc)
        if message is None:
            raise
        raise fail(message, 1) from None


def _kafka_failure(exc: BaseException) -> str | None:
    """What to tell of `exc` when it comes from reaching Kafka, else None. The Kafka client is
    looked at only when the command loaded it: a command that reads the services' HTTP APIs
    does not pay for importing it (half a second)."""
    if "pkgctl.broker" not in sys.modules:
        return None
    from aiokafka.errors import KafkaError

    from pkgctl import broker
    from pkgtools.topic_io import TopicMissing, WaitTimedOut

    if isinstance(exc, TopicMissing):
        return f"{exc} (is the system up? {profiles.chosen().describe()})"
    if isinstance(exc, WaitTimedOut):
        return "no outcome arrived in time; the command was sent"
    if isinstance(exc, OSError | KafkaError):
        return f"cannot reach Kafka at {broker.bootstrap()}: {exc} ({profiles.chosen().describe()})"
    return None


Customer = Annotated[
    str | None,
    typer.Option(
        help="the assignment's customer; found from the assignment service when left out, "
        "and checked against it when given"
    ),
]
