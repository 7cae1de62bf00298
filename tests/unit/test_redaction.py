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


def test_a_password_that_is_its_user_name_is_masked_in_urls_only() -> None:
    # The local roles' public defaults: masking the name everywhere hid which schema and role
    # an error was about.
    settings = ServiceSettings(database_url=SecretStr("postgresql://catalog:catalog@h:5432/d"))
    text = (
        "schema 'catalog_6c87eecb' exists but role 'catalog' cannot create in it "
        "(postgresql://catalog:catalog@h:5432/d)"
    )
    assert redact(text, settings) == (
        "schema 'catalog_6c87eecb' exists but role 'catalog' cannot create in it "
        "(postgresql://catalog:***@h:5432/d)"
    )


def test_any_url_password_is_masked_even_one_not_configured() -> None:
    settings = ServiceSettings(database_url=SecretStr("postgresql://u:p-1@h/d"))
    text = "tried postgresql://other:s3cr3t@elsewhere:5432/x and kafka://k:pw@b:9092"
    assert redact(text, settings) == (
        "tried postgresql://other:***@elsewhere:5432/x and kafka://k:***@b:9092"
    )
