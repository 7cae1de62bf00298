"""Which system pkgctl talks to (issue 35): named profiles in profiles.toml chosen by --profile
or PKGCTL_PROFILE, environment variables winning over them, and every bad setting said in one
line naming it (exit 2), never a traceback; with nothing chosen pkgctl says how to choose
(the only profile is used, said so). Each test has its own config directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pkgctl import api, profiles, reach
from pkgctl.app import app

pytestmark = pytest.mark.unit

runner = CliRunner()
SECRET = "s3cr3t-Pa55"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No variable of the developer's shell, and a config directory of the test's own."""
    for variable in (*profiles.SETTINGS.values(), "PKGCTL_PROFILE", "PKGCTL_PROFILES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "200")
    profiles.select(None)
    return tmp_path


def _write(tmp_path: Path, text: str) -> Path:
    where = tmp_path / "config" / "pkgctl" / "profiles.toml"
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text(text)
    return where


LOCAL = """
[profiles.local]
bootstrap_servers = "127.0.0.1:9092"
catalog_api = "http://127.0.0.1:8081"
assignment_api = "http://127.0.0.1:8082"
charger_api = "http://127.0.0.1:8083"
allowance_api = "http://127.0.0.1:8084"
"""


def _compose(password_file: Path) -> str:
    return f"""
[profiles.compose]
bootstrap_servers = "127.0.0.1:39092"
security_protocol = "SASL_PLAINTEXT"
sasl_mechanism = "SCRAM-SHA-512"
username = "operator"
password_file = "{password_file}"
password_key = "KAFKA_USER_OPERATOR_PASSWORD"
catalog_api = "http://127.0.0.1:18081"
charger_api = "http://127.0.0.1:18083"
topic_prefix = "blue."
"""


def _env_file(tmp_path: Path) -> Path:
    env = tmp_path / ".env"
    env.write_text(f"KAFKA_ADMIN_PASSWORD=other\nKAFKA_USER_OPERATOR_PASSWORD={SECRET}\n")
    return env


def test_a_named_profile_gives_every_setting(tmp_path: Path) -> None:
    _write(tmp_path, LOCAL + _compose(_env_file(tmp_path)))
    profiles.select("compose")
    assert reach.bootstrap() == "127.0.0.1:39092"
    assert api.base("catalog") == "http://127.0.0.1:18081"
    assert reach.topic_prefix() == "blue."
    security = reach.security()
    assert security["kafka_security_protocol"] == "SASL_PLAINTEXT"
    assert security["kafka_sasl_mechanism"] == "SCRAM-SHA-512"
    assert (security["kafka_sasl_username"], security["kafka_sasl_password"]) == (
        "operator",
        SECRET,
    )


def test_environment_variables_win_over_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, _compose(_env_file(tmp_path)))
    monkeypatch.setenv("PKGCTL_PROFILE", "compose")
    monkeypatch.setenv("CATALOG_API", "http://10.0.0.1:9999")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "from-env")
    monkeypatch.setenv("TOPIC_PREFIX", "")
    profiles.select(None)
    assert api.base("catalog") == "http://10.0.0.1:9999"
    assert api.base("charger") == "http://127.0.0.1:18083"  # not in the env: the profile's
    assert reach.security()["kafka_sasl_password"] == "from-env"
    assert reach.topic_prefix() == ""
    assert "CATALOG_API" in profiles.chosen().describe()


def test_the_option_wins_over_pkgctl_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, LOCAL + _compose(_env_file(tmp_path)))
    monkeypatch.setenv("PKGCTL_PROFILE", "local")
    profiles.select("compose")
    assert reach.bootstrap() == "127.0.0.1:39092"


def test_variables_alone_choose_the_system_and_a_read_api_left_out_is_not_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, LOCAL)  # one profile, but the variables say which system
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1234")
    profiles.select(None)
    assert reach.bootstrap() == "127.0.0.1:1234"
    with pytest.raises(api.ApiNotSet, match="CATALOG_API: not set"):
        api.base("catalog")
    assert profiles.chosen().describe() == "system: environment variables (broker 127.0.0.1:1234)"


def _run(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env)


def _one_line_error(result: Any, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], result.output


def test_nothing_chosen_says_how_to_choose(tmp_path: Path) -> None:
    _one_line_error(_run("clock"), "no system chosen", "--profile", "PKGCTL_PROFILE")
    _write(tmp_path, LOCAL + _compose(_env_file(tmp_path)))
    _one_line_error(_run("packages"), "no system chosen", "compose, local")


def test_the_only_profile_is_used_and_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, LOCAL)
    monkeypatch.setattr(api, "get", lambda service, path, **_: {"tick_at": None})
    result = _run("clock")
    assert result.exit_code == 0, result.output
    assert "using profile local, the only one" in result.output
    assert "system: profile local (broker 127.0.0.1:9092)" in result.output


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"CATALOG_API": "127.0.0.1:18081"}, ("CATALOG_API", "http(s) URL")),
        ({"CATALOG_API": "http://127.0.0.1:80818"}, ("CATALOG_API", "port")),
        ({"CATALOG_API": "http://127.0.0.1:x"}, ("CATALOG_API", "port")),
        ({"CATALOG_API": "ftp://127.0.0.1:21"}, ("CATALOG_API", "http(s)")),
        ({"PKGCTL_PROFILE": "nope"}, ("profile 'nope'", "profiles.toml")),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    tmp_path: Path, env: dict[str, str], words: tuple[str, ...]
) -> None:
    _write(tmp_path, LOCAL)
    _one_line_error(_run("packages", env=env), *words)


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ('bootstrap_servers = "127.0.0.1"', ("profile bad, bootstrap_servers", "host:port")),
        ('bootstrap_servers = "127.0.0.1:0"', ("profile bad, bootstrap_servers", "port")),
        ('security_protocol = "SASL"', ("profile bad, security_protocol", "SASL_PLAINTEXT")),
        ('sasl_mechanism = "MD5"', ("profile bad, sasl_mechanism", "SCRAM-SHA-512")),
        ('password_file = "/nonexistent/.env"', ("profile bad, password_file", "cannot be read")),
        ('password_command = "exit 3"', ("profile bad, password_command", "exited 3")),
        ("colour = 'blue'", ("profile bad", "unknown setting 'colour'")),
    ],
)
def test_a_bad_profile_setting_is_one_line_naming_it(
    tmp_path: Path, setting: str, words: tuple[str, ...]
) -> None:
    base = "[profiles.bad]\n" + 'security_protocol = "SASL_PLAINTEXT"\n'
    base += 'sasl_mechanism = "PLAIN"\nusername = "u"\n'
    base = "\n".join(
        line for line in base.splitlines() if line.split(" = ")[0] != setting.split(" = ")[0]
    )
    if "bootstrap_servers" not in setting:
        base += '\nbootstrap_servers = "127.0.0.1:9"'
    _write(tmp_path, base + "\n" + setting + "\n")
    _one_line_error(_run("--profile", "bad", "tail", "charger.events"), *words)


def test_a_file_that_is_not_toml_is_said(tmp_path: Path) -> None:
    where = _write(tmp_path, "[profiles.local\n")
    _one_line_error(_run("--profile", "local", "clock"), str(where), "not TOML")


def test_password_command_and_whole_password_file(tmp_path: Path) -> None:
    whole = tmp_path / "pw"
    whole.write_text(SECRET + "\n")
    _write(
        tmp_path,
        f'[profiles.a]\nbootstrap_servers = "h:1"\nsasl_mechanism = "PLAIN"\n'
        f'password_file = "{whole}"\n'
        f'[profiles.b]\nbootstrap_servers = "h:1"\nsasl_mechanism = "PLAIN"\n'
        f"password_command = \"printf '%s' {SECRET}\"\n",
    )
    for name in ("a", "b"):
        profiles.select(name)
        assert reach.security()["kafka_sasl_password"] == SECRET


def test_profiles_are_listed_without_secrets_and_saved_safely(tmp_path: Path) -> None:
    env = _env_file(tmp_path)
    saved = _run(
        "profiles", "save", "odd", "--bootstrap-servers", "127.0.0.1:1",
        "--password-command", f"echo {SECRET}", "--catalog-api", 'http://h:1/"x\\y',
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    where = profiles.path()
    assert os.stat(where).st_mode & 0o077 == 0
    _write_also = _run("profiles", "save", "compose", "--password-file", str(env))
    assert _write_also.exit_code == 0, _write_also.output
    loaded = profiles.load()
    assert loaded["odd"]["catalog_api"] == 'http://h:1/"x\\y'  # quoted and read back
    assert loaded["compose"]["password_file"] == str(env)
    listed = _run("profiles")
    assert listed.exit_code == 0, listed.output
    assert "odd" in listed.output and "compose" in listed.output
    assert SECRET not in listed.output and "password_command=(set)" in listed.output
    bad = _run("profiles", "save", "x", "--catalog-api", "127.0.0.1:8081")
    _one_line_error(bad, "--catalog-api", "http(s) URL")


def test_a_kafka_command_says_which_system_it_could_not_reach(tmp_path: Path) -> None:
    """The password never shows, whatever goes wrong."""
    _write(tmp_path, _compose(_env_file(tmp_path)))
    result = _run("--profile", "compose", "dlq", "list", "catalog.commands")
    assert result.exit_code == 1, result.output
    assert "profile compose (broker 127.0.0.1:39092)" in result.output
    assert SECRET not in result.output
