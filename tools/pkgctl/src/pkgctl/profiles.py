"""Which system pkgctl talks to: named profiles in profiles.toml, or environment variables.

The file: $XDG_CONFIG_HOME/pkgctl/profiles.toml (else ~/.config/pkgctl/profiles.toml; or
PKGCTL_PROFILES, a path). One table per profile:

    [profiles.compose]
    bootstrap_servers = "127.0.0.1:29092"
    security_protocol = "SASL_PLAINTEXT"
    sasl_mechanism = "SCRAM-SHA-512"
    username = "operator"
    password_file = "/path/to/.env"          # or password, or password_command
    password_key = "KAFKA_USER_OPERATOR_PASSWORD"  # the file is KEY=VALUE lines
    catalog_api = "http://127.0.0.1:8081"     # assignment_api, charger_api, allowance_api
    topic_prefix = ""

Chosen by --profile NAME, else PKGCTL_PROFILE. Each setting comes from its environment
variable when set (env wins), else from the profile, else nothing. With no profile named: the
environment variables when any of the system's are set (KAFKA_BOOTSTRAP_SERVERS, *_API); else
the only profile of the file, said so; else pkgctl says how to choose. A bad setting is one
line naming it (SettingError, exit 2); a password is never printed."""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

try:  # the click that typer runs (a copy of its own since typer 0.24): its errors exit cleanly
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click import ClickException  # type: ignore[assignment]

SETTINGS = {
    "bootstrap_servers": "KAFKA_BOOTSTRAP_SERVERS",
    "security_protocol": "KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "KAFKA_SASL_MECHANISM",
    "username": "KAFKA_SASL_USERNAME",
    "password": "KAFKA_SASL_PASSWORD",
    "ssl_cafile": "KAFKA_SSL_CAFILE",
    "catalog_api": "CATALOG_API",
    "assignment_api": "ASSIGNMENT_API",
    "charger_api": "CHARGER_API",
    "allowance_api": "ALLOWANCE_API",
    "topic_prefix": "TOPIC_PREFIX",
}
"""A profile's settings and the environment variable that wins over each."""
PASSWORD_SOURCES = ("password_command", "password_file", "password_key")
SECRET = ("password", "password_command")
SYSTEM_VARIABLES = ("KAFKA_BOOTSTRAP_SERVERS", "CATALOG_API", "ASSIGNMENT_API", "CHARGER_API",
                    "ALLOWANCE_API")  # fmt: skip
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class SettingError(ClickException):
    """A setting pkgctl cannot use: one line naming it and what is expected; exit 2."""

    exit_code = 2


class NotSet(SettingError):
    """A read API's URL that nothing sets (the system chosen by variables that leave it out)."""


def path() -> Path:
    if os.environ.get("PKGCTL_PROFILES"):
        return Path(os.environ["PKGCTL_PROFILES"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pkgctl" / "profiles.toml"


def load(where: Path | None = None) -> dict[str, dict[str, str]]:
    """Every profile of the file ({} when there is none)."""
    where = where or path()
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingError(f"profiles file {where}: cannot be read ({exc.strerror})") from None
    try:
        found = tomllib.loads(text).get("profiles", {})
    except tomllib.TOMLDecodeError as exc:
        raise SettingError(f"profiles file {where}: not TOML ({exc})") from None
    profiles: dict[str, dict[str, str]] = {}
    for name, table in found.items() if isinstance(found, dict) else ():
        if not isinstance(table, dict):
            raise SettingError(f"profiles file {where}: [profiles.{name}] is not a table")
        for key, value in table.items():
            if key not in SETTINGS and key not in PASSWORD_SOURCES:
                raise SettingError(
                    f"profile {name}: unknown setting {key!r}; expected one of "
                    f"{', '.join([*SETTINGS, *PASSWORD_SOURCES])}"
                )
            if not isinstance(value, str):
                raise SettingError(f"profile {name}, {key}: expected a string, not {value!r}")
        profiles[name] = dict(table)
    return profiles


@dataclass
class System:
    """The system chosen: its profile's settings (empty when chosen by variables)."""

    name: str | None  # the profile's name; None: environment variables (or nothing chosen)
    settings: dict[str, str] = field(default_factory=dict)
    implicit: bool = False  # the only profile of the file, used without being named
    problem: str | None = None  # why no system is chosen (raised when a setting is needed)

    def value(self, setting: str) -> str | None:
        """The setting: its environment variable when set, else the profile's, else None."""
        env = os.environ.get(SETTINGS[setting])
        if env is not None:
            return env
        if self.problem is not None:
            raise SettingError(self.problem)
        return self.settings.get(setting)

    def describe(self) -> str:
        """Which system, without secrets: for every screen that could be mistaken."""
        if self.problem is not None:
            raise SettingError(self.problem)
        broker = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or self.settings.get(
            "bootstrap_servers", "(no broker)"
        )
        if self.name is None:
            return f"system: environment variables (broker {broker})"
        overridden = [v for v in SETTINGS.values() if v in os.environ]
        return (
            f"system: profile {self.name} (broker {broker})"
            + (" (the only profile)" if self.implicit else "")
            + (f", with {', '.join(overridden)} from the environment" if overridden else "")
        )


_chosen: list[System] = []
_named: list[str | None] = [None]


def select(name: str | None) -> None:
    """Name the profile (--profile); it is looked up when a setting is first needed, so that
    `pkgctl profiles` works whatever is named."""
    _named[0] = name
    _chosen.clear()


def choose(name: str | None = None) -> System:
    """Choose the system (`name`, else PKGCTL_PROFILE, else as the module says)."""
    system = _choose(name or os.environ.get("PKGCTL_PROFILE") or None)
    _chosen[:] = [system]
    if system.implicit:
        print(f"pkgctl: using profile {system.name}, the only one in {path()}", file=sys.stderr)
    return system


def chosen() -> System:
    return _chosen[0] if _chosen else choose(_named[0])


def _choose(name: str | None) -> System:
    if name is not None:
        profiles = load()
        if name not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise SettingError(
                f"profile {name!r}: not in {path()} (profiles there: {known}; "
                "`make up` writes `local`, `make compose-up` writes `compose`)"
            )
        return System(name, profiles[name])
    if any(os.environ.get(v) for v in SYSTEM_VARIABLES):
        return System(None)
    try:
        profiles = load()
    except SettingError as exc:
        return System(None, problem=exc.message)
    if len(profiles) == 1:
        only = next(iter(profiles))
        return System(only, profiles[only], implicit=True)
    known = f" (profiles in {path()}: {', '.join(sorted(profiles))})" if profiles else ""
    return System(
        None,
        problem="no system chosen: give --profile NAME or set PKGCTL_PROFILE"
        f"{known}, or set KAFKA_BOOTSTRAP_SERVERS and CATALOG_API, ASSIGNMENT_API, "
        "CHARGER_API, ALLOWANCE_API (`make up` writes the profile `local`, "
        "`make compose-up` the profile `compose`)",
    )


def listed() -> list[dict[str, str]]:
    """Every profile, without secrets (a password or a command: "(set)")."""
    return [
        {"name": name} | {k: ("(set)" if k in SECRET else v) for k, v in settings.items()}
        for name, settings in sorted(load().items())
    ]


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


def save(name: str, settings: dict[str, str], where: Path | None = None) -> Path:
    """Write (or replace) profile `name` in the file, keeping the others (mode 0600)."""
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise SettingError(f"profile name {name!r}: expected letters, digits, - and _")
    where = where or path()
    profiles = load(where)
    profiles[name] = {k: v for k, v in settings.items() if v is not None}
    where.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# pkgctl's profiles (pkgctl profiles lists them; docs/operations.md)."]
    for profile, values in sorted(profiles.items()):
        lines += ["", f"[profiles.{profile}]"]
        lines += [f"{key} = {_quoted(value)}" for key, value in values.items()]
    new = where.with_suffix(".toml.new")
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    new.replace(where)
    return where
