"""docker-compose.yml and the Dockerfile, checked against the code (no Docker engine here):
every service, command, topic step and environment variable they name must exist."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from allowance.config import AllowanceSettings
from charger.config import ChargerSettings
from charger.entrypoints.ticker import TickerSettings
from pkgshared import topic_admin
from pkgshared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
APP = {"catalog", "assignment", "charger", "allowance", "ticker"}


def env_names(settings: type[ServiceSettings]) -> set[str]:
    return {name.upper() for name in settings.model_fields}


def test_the_system_is_all_there() -> None:
    assert set(SERVICES) == {
        "kafka",
        "kafka-init",
        "topic-init",
        "postgres",
        "prometheus",
        "grafana",
        *APP,
    }
    assert (
        SERVICES["prometheus"]["profiles"] == SERVICES["grafana"]["profiles"] == ["observability"]
    )
    assert SERVICES["kafka"]["image"] == "${KAFKA_IMAGE:-apache/kafka:4.3.1}"


def _default(image: str) -> str:
    """The image a `${VARIABLE:-default}` names when the variable is not set."""
    found = re.fullmatch(r"\$\{(\w+):-(\S+)\}", image)
    assert found, f"{image} is not a variable with the official image as its default"
    return found.group(2)


def test_images_are_variables_whose_defaults_are_pinned_official_images() -> None:
    for name in ("kafka", "kafka-init", "postgres", "prometheus", "grafana"):
        image = _default(SERVICES[name]["image"])
        assert re.search(r":v?\d+\.\d+", image), f"{name} image {image} is not pinned"
        assert not image.startswith("packages-standin/"), name
    args = SERVICES["catalog"]["build"]["args"]
    assert _default(args["PYTHON_IMAGE"]).startswith("python:3.11")
    assert _default(args["UV_IMAGE"]).startswith("ghcr.io/astral-sh/uv:")
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    defaults = dict(re.findall(r"^ARG (\w+_IMAGE)=(\S+)", text, re.M))
    assert defaults == {
        "PYTHON_IMAGE": _default(args["PYTHON_IMAGE"]),
        "UV_IMAGE": _default(args["UV_IMAGE"]),
    }
    assert re.findall(r"^FROM (\S+)", text, re.M) == [
        "${UV_IMAGE}",
        "${PYTHON_IMAGE}",
        "${PYTHON_IMAGE}",
    ]


def test_the_dockerfile_runs_as_a_user_with_a_healthcheck() -> None:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "HEALTHCHECK" in text and "/health" in text
    assert "--frozen" in text  # the lock file decides what is installed


def test_every_command_is_a_console_script_of_the_project() -> None:
    for name in APP:
        command = SERVICES[name]["command"]
        assert command[0] in SCRIPTS, f"{name}: {command[0]} is not in [project.scripts]"
    init = SERVICES["topic-init"]["command"]
    assert init[:2] == ["python", "-m"]
    assert importlib.util.find_spec(init[2]) is not None, f"topic-init runs {init[2]}: no module"
    assert "create" in SERVICES["topic-init"]["command"]


def test_every_environment_variable_is_a_setting_of_that_process() -> None:
    known = {
        "catalog": env_names(ServiceSettings),
        "assignment": env_names(ServiceSettings),
        "charger": env_names(ChargerSettings),
        "allowance": env_names(AllowanceSettings),
        "ticker": env_names(TickerSettings),
    }
    for name, names in known.items():
        unknown = set(SERVICES[name].get("environment", {})) - names
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"
        env = SERVICES[name]["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9094"
        # Each over SASL as its own user (pkgcontract.access), its password from .env.
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert env["KAFKA_SASL_USERNAME"] == name
        assert env["KAFKA_SASL_PASSWORD"].startswith(f"${{KAFKA_USER_{name.upper()}_PASSWORD")


def test_the_compose_broker_has_the_users_and_acls_of_pkgshared_access() -> None:
    from pkgcontract.access import USERS, acl_args

    init = SERVICES["kafka-init"]["environment"]
    assert init["USERS"].split() == list(USERS)
    for user in USERS:
        assert f"KAFKA_USER_{user.upper()}_PASSWORD" in init
    acls = (ROOT / "deploy" / "compose" / "acls.txt").read_text().splitlines()
    assert [a for a in acls if not a.startswith("#")] == [" ".join(g) for g in acl_args()]
    env_script = (ROOT / "scripts" / "compose-env.sh").read_text()
    assert f'users="{" ".join(USERS)}"' in env_script
    # No password is written in the compose file: each comes from .env.
    text = (ROOT / "docker-compose.yml").read_text()
    assert "packages-secret" not in text and "admin-secret" not in text
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?" in text


def test_each_service_uses_its_own_database_role() -> None:
    roles = (ROOT / "deploy" / "postgres" / "roles.sql").read_text()
    for name in ("catalog", "assignment", "charger", "allowance"):
        url = SERVICES[name]["environment"]["DATABASE_URL"]
        assert url.startswith(f"postgresql://{name}:") and url.endswith("@postgres:5432/packages")
        assert f"'{name}'" in roles
    mounts = SERVICES["postgres"]["volumes"]
    assert any(
        m.startswith("./deploy/postgres/roles.sql:/docker-entrypoint-initdb.d/") for m in mounts
    )


def test_startup_is_health_gated() -> None:
    for name in APP:
        deps = SERVICES[name]["depends_on"]
        assert deps["kafka"]["condition"] == "service_healthy"
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["topic-init"]["condition"] == "service_completed_successfully"
    for name in ("kafka", "postgres"):
        assert "test" in SERVICES[name]["healthcheck"]
    assert SERVICES["kafka-init"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    init = SERVICES["topic-init"]["depends_on"]["kafka-init"]["condition"]
    assert init == "service_completed_successfully"


def test_every_published_port_is_on_the_loopback_and_distinct() -> None:
    ports = [p for s in SERVICES.values() for p in s.get("ports", [])]
    assert all(p.startswith("127.0.0.1:") for p in ports), ports
    host = [re.sub(r"\$\{\w+:-(\d+)\}", r"\1", p).split(":")[1] for p in ports]
    assert len(host) == len(set(host))
    assert set(host) == {"29092", "5432", "8081", "8082", "8083", "8084", "9090", "3000"}


def test_compose_postgres_is_sized_like_the_local_one() -> None:
    conf = (ROOT / "deploy" / "local" / "postgresql.conf").read_text().splitlines()
    local = {
        key.strip(): value.strip()
        for key, _, value in (line.partition("=") for line in conf)
        if key.strip() and not key.startswith("#")
    }
    command = SERVICES["postgres"]["command"]
    flags = dict(arg.split("=", 1) for arg in command[2::2])
    assert command[0] == "postgres" and set(command[1::2]) == {"-c"}
    assert flags == local


REPLICATION = (
    "default.replication.factor",
    "min.insync.replicas",
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
)


def test_the_compose_broker_says_how_many_copies_its_topics_keep() -> None:
    """One broker: every replication factor and min ISR is 1, set explicitly (as the local
    broker's server.properties does), and topic-init creates the contract's topics so too."""
    env = SERVICES["kafka"]["environment"]
    # The image's mapping: KAFKA_ dropped, "___" -> "-", "__" -> "_", "_" -> ".", lower case.
    compose = {
        k[len("KAFKA_") :].lower().replace("_", "."): str(v)
        for k, v in env.items()
        if k.startswith("KAFKA_")
    }
    props = (ROOT / "deploy" / "local" / "kafka" / "server.properties").read_text().splitlines()
    local = dict(line.split("=", 1) for line in props if "=" in line and not line.startswith("#"))
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].count("@") == 1  # one broker
    for name in REPLICATION:
        assert compose.get(name) == local.get(name) == "1", name
    command = SERVICES["topic-init"]["command"]
    flags = dict(zip(command[4::2], command[5::2], strict=True))
    assert command[3] == "create"
    args = topic_admin.parser().parse_args(command[3:])
    assert (args.replication_factor, args.min_insync_replicas) == (1, 1)
    assert flags == {
        "--bootstrap": "kafka:9094",
        "--replication-factor": "1",
        "--min-insync-replicas": "1",
    }


def _metric_names() -> set[str]:
    """Every metric a service exposes (the modules that define them imported), as Prometheus
    names them in queries (counters with _total, histograms with _bucket and so on)."""
    import importlib

    from prometheus_client import REGISTRY

    for module in ("pkgshared.metrics", "pkgshared.stuck", "charger.metrics", "allowance.metrics"):
        importlib.import_module(module)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    names = {"up"}
    for family in REGISTRY.collect():
        names |= {family.name, *(family.name + s for s in suffixes.get(family.type, ()))}
    return names


def _queried(expr: str) -> set[str]:
    words = set(re.findall(r"\b[a-z_]+_[a-z_]+\b", expr)) | set(re.findall(r"\bup\b", expr))
    functions = {"histogram_quantile", "by", "and", "sum", "max", "rate", "delta", "deriv", "time"}
    return {w for w in words if w not in functions and not w.startswith(("le", "service"))}


def test_the_dashboard_and_alerts_query_metrics_that_exist() -> None:
    import json

    observability = ROOT / "deploy" / "observability"
    exprs = [
        target["expr"]
        for panel in json.loads((observability / "grafana/dashboards/packages.json").read_text())[
            "panels"
        ]
        for target in panel["targets"]
    ]
    rules = yaml.safe_load((observability / "alerts.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    known = _metric_names()
    for expr in exprs:
        unknown = _queried(expr) - known
        assert not unknown, f"{expr!r} names metrics no service exposes: {unknown}"
