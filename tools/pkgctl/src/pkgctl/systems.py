"""`pkgctl profiles`: the systems pkgctl can talk to (pkgctl.profiles), listed without secrets,
and saved (as `make up` and `make compose-up` save theirs)."""

from __future__ import annotations

from typing import Annotated

import typer

from pkgctl import profiles, reach
from pkgctl.cli import Options, app, emit_json, out

profiles_app = typer.Typer(
    help="The systems pkgctl can talk to: named profiles in profiles.toml (no secrets shown).",
    invoke_without_command=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
app.add_typer(profiles_app, name="profiles")


@profiles_app.callback()
def profiles_list(ctx: typer.Context) -> None:
    """List the profiles (a password or password_command shows as "(set)") and which system
    pkgctl would talk to now."""
    if ctx.invoked_subcommand is not None:
        return
    found = profiles.listed()
    if Options.json:
        emit_json(found)
        return
    out.print(f"profiles in {profiles.path()}: {len(found)}", highlight=False)
    for p in found:
        settings = ", ".join(f"{k}={v}" for k, v in p.items() if k != "name")
        out.print(f"  {p['name']}: {settings}", highlight=False, markup=False)
    try:
        out.print(f"now: {profiles.chosen().describe()}", highlight=False)
    except profiles.SettingError as exc:
        out.print(f"now: {exc.message}", highlight=False)


Setting = Annotated[str | None, typer.Option()]


@profiles_app.command("save")
def profiles_save(
    name: str,
    bootstrap_servers: Setting = None,
    security_protocol: Setting = None,
    sasl_mechanism: Setting = None,
    username: Setting = None,
    password_file: Setting = None,
    password_key: Annotated[
        str | None, typer.Option(help="the file is KEY=VALUE lines: the password is KEY's")
    ] = None,
    password_command: Setting = None,
    ssl_cafile: Setting = None,
    catalog_api: Setting = None,
    assignment_api: Setting = None,
    charger_api: Setting = None,
    allowance_api: Setting = None,
    topic_prefix: Setting = None,
) -> None:
    """Save (or replace) a profile. No --password: give --password-file or
    --password-command, so that no password is written here or seen in a process list."""
    settings = {k: v for k, v in locals().items() if k != "name" and v is not None}
    for key, value in settings.items():
        if key.endswith("_api"):
            reach.check_url(value, f"--{key.replace('_', '-')}")
    if bootstrap_servers:
        reach.check_servers(bootstrap_servers, "--bootstrap-servers")
    where = profiles.save(name, settings)
    out.print(f"profile {name} saved in {where}", highlight=False)
