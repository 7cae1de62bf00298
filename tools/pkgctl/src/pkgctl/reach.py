"""How to reach the chosen system (pkgctl.profiles): its read APIs' URLs, its broker and the
Kafka security settings, each checked (a bad one: SettingError, one line, exit 2), env winning
over the profile; the password from the profile's password, password_file or
password_command, never printed."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from pkgctl.profiles import (
    MECHANISMS,
    PROTOCOLS,
    SETTINGS,
    NotSet,
    SettingError,
    System,
    chosen,
)


def _where(system: System, setting: str) -> str:
    variable = SETTINGS[setting]
    if variable in os.environ or system.name is None:
        return variable
    return f"profile {system.name}, {setting}"


def api_base(service: str) -> str:
    """The base URL of `service`'s read API, checked: http(s)://host[:port]."""
    system, setting = chosen(), f"{service}_api"
    url = system.value(setting)
    if url is None:
        raise NotSet(
            f"{_where(system, setting)}: not set; expected the {service} service's read API, "
            "e.g. http://127.0.0.1:8081"
        )
    return check_url(url, _where(system, setting))


def check_url(url: str, where: str) -> str:
    """`url` when it is http(s)://host[:port]; else a SettingError naming `where`."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise SettingError(
            f"{where} = {url!r}: expected an http(s) URL with a port from 1 to 65535, "
            "e.g. http://127.0.0.1:8081"
        )
    return url.rstrip("/")


def bootstrap() -> str:
    """The bootstrap servers, checked: host:port[,host:port...]."""
    system = chosen()
    servers = system.value("bootstrap_servers")
    if servers is None:
        raise SettingError(
            f"{_where(system, 'bootstrap_servers')}: not set; expected host:port of the broker"
        )
    return check_servers(servers, _where(system, "bootstrap_servers"))


def check_servers(servers: str, where: str) -> str:
    """`servers` when it is host:port[,host:port...]; else a SettingError naming `where`."""
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingError(
                f"{where} = {servers!r}: expected host:port (a port from 1 to 65535), "
                "comma-separated"
            )
    return servers


def topic_prefix() -> str:
    if "TOPIC_PREFIX" in os.environ:
        return os.environ["TOPIC_PREFIX"]
    return chosen().settings.get("topic_prefix") or ""


def security() -> dict[str, str | None]:
    """The Kafka security settings as ServiceSettings takes them (kafka_*), env winning."""
    system = chosen()
    protocol = (system.value("security_protocol") or "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise SettingError(
            f"{_where(system, 'security_protocol')} = {protocol!r}: expected one of "
            f"{', '.join(PROTOCOLS)}"
        )
    mechanism = system.value("sasl_mechanism")
    if mechanism is not None and mechanism.upper() not in MECHANISMS:
        raise SettingError(
            f"{_where(system, 'sasl_mechanism')} = {mechanism!r}: expected one of "
            f"{', '.join(MECHANISMS)}"
        )
    return {
        "kafka_bootstrap_servers": bootstrap(),
        "kafka_security_protocol": protocol,
        "kafka_sasl_mechanism": mechanism,
        "kafka_sasl_username": system.value("username"),
        "kafka_sasl_password": password(system) if mechanism else None,
        "kafka_ssl_cafile": system.value("ssl_cafile"),
    }


def password(system: System) -> str | None:
    """The password: KAFKA_SASL_PASSWORD, else the profile's password, password_file (whole,
    or the line KEY=... of password_key) or password_command's output. Never printed."""
    given = system.value("password")
    if given is not None:
        return given
    s = system.settings
    if s.get("password_file"):
        where = Path(s["password_file"]).expanduser()
        try:
            text = where.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not text"
            raise SettingError(
                f"profile {system.name}, password_file = {str(where)!r}: cannot be read "
                f"({reason}); expected a readable file holding the password"
            ) from None
        key = s.get("password_key")
        if key is None:
            return text.strip()
        for line in text.splitlines():
            name, sep, value = line.strip().partition("=")
            if sep and name.strip().removeprefix("export ").strip() == key:
                return value.strip().strip("'\"")
        raise SettingError(
            f"profile {system.name}, password_key = {key!r}: no line {key}=... in {where}"
        )
    if s.get("password_command"):
        import subprocess  # here: `pkgctl --help` does without it

        try:
            done = subprocess.run(
                ["/bin/sh", "-c", s["password_command"]],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SettingError(
                f"profile {system.name}, password_command: did not run ({exc})"
            ) from None
        if done.returncode != 0 or not done.stdout.strip():
            raise SettingError(
                f"profile {system.name}, password_command: exited {done.returncode} "
                "without printing a password; expected a command that prints it"
            )
        return done.stdout.strip()
    return None
