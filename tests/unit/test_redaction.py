"""Error text that quotes a DSN loses its passwords before it is logged."""

from __future__ import annotations

from pydantic import SecretStr

from pkgshared.logs import redact
from pkgshared.settings import ServiceSettings


def test_error_text_is_redacted_of_the_configured_passwords() -> None:
    settings = ServiceSettings(
        database_url=SecretStr("postgresql://u:db-Pass-1@h:5432/d"),
        kafka_sasl_password=SecretStr("sasl-Pass-2"),
    )
    text = "cannot connect to postgresql://u:db-Pass-1@h:5432/d with sasl-Pass-2"
    assert redact(text, settings) == "cannot connect to postgresql://u:***@h:5432/d with ***"
