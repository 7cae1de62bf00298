"""structlog setup: JSON lines when not on a TTY, key=value on a terminal."""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import structlog

if TYPE_CHECKING:
    from pkgshared.settings import ServiceSettings

MAX_VALUE_CHARS = 1000
"""Longest string value a log line carries (a traceback: ten times that)."""


def cut_long_values(
    _logger: Any, _method: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Cut long strings (a 100,000-character key, a huge error) so one bad message cannot
    make a log line that large."""
    for name, value in event.items():
        limit = MAX_VALUE_CHARS * (10 if name == "exception" else 1)
        if isinstance(value, str) and len(value) > limit:
            event[name] = f"{value[:limit]}... ({len(value)} characters)"
    return event


def configure_logging(service: str, level: str = "INFO", json: bool | None = None) -> None:
    """Route structlog and stdlib logging (aiokafka, faststream) through one renderer."""
    use_json = (not sys.stderr.isatty()) if json is None else json
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        cut_long_values,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    # The services' own lines go straight to stderr: the stdlib logging path cost a tenth of a
    # command's handling (a line per command under load). Libraries' lines go through logging.
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka reports every failed connection attempt at ERROR; the retry is what matters.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def redact(text: str, settings: ServiceSettings) -> str:
    """`text` with the configured passwords replaced, for error messages that quote a DSN.

    A password in a URL's user part (`user:password@`) is always replaced. Elsewhere in the
    text it is replaced too, unless it is the URL's own user name: the local roles' default
    passwords are their names (deploy/postgres/roles.sql, public), and masking them would turn
    "schema 'catalog_…' belongs to role 'catalog'" into "schema '***_…' … role '***'"."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    url = urlsplit(settings.database_url.get_secret_value())
    secrets = [url.password] if url.password != url.username else []
    if settings.kafka_sasl_password is not None:
        secrets.append(settings.kafka_sasl_password.get_secret_value())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
"""The password of a URL's user part: `scheme://user:password@host`."""
