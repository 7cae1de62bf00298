"""docker-compose.yml and the Dockerfile, checked against the code (no Docker engine here):
every service, command, topic step and environment variable they name must exist."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from allowance.config import AllowanceSettings
from charger.config import ChargerSettings
from charger.entrypoints.ticker import TickerSettings
from pkgshared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
APP = {"catalog", "assignment", "charger", "allowance", "ticker"}


def env_names(settings: type[ServiceSettings]) -> set[str]:
    return {name.upper() for name in settings.model_fields}


def test_the_system_is_all_there() -> None:
    assert set(SERVICES) == {"kafka", "topic-init", "postgres", "prometheus", "grafana", *APP}
    assert (
        SERVICES["prometheus"]["profiles"] == SERVICES["grafana"]["profiles"] == ["observability"]
    )
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")


def test_images_are_pinned() -> None:
    for name in ("kafka", "postgres", "prometheus", "grafana"):
        image = SERVICES[name]["image"]
        assert re.search(r":v?\d+\.\d+", image), f"{name} image {image} is not pinned"
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    images = re.findall(r"^FROM (\S+)", text, re.M) + re.findall(r"--from=(\S+/\S+)", text)
    assert len(images) == 3
    for image in images:
        assert re.search(r":v?\d+\.\d+", image), f"unpinned image in the Dockerfile: {image}"


def test_the_dockerfile_runs_as_a_user_with_a_healthcheck() -> None:
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "HEALTHCHECK" in text and "/health" in text
    assert "--frozen" in text  # the lock file decides what is installed


def test_every_command_is_a_console_script_of_the_project() -> None:
    for name in APP:
        command = SERVICES[name]["command"]
        assert command[0] in SCRIPTS, f"{name}: {command[0]} is not in [project.scripts]"
    assert SERVICES["topic-init"]["command"][:3] == ["python", "-m", "pkgshared.topics"]
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
        assert SERVICES[name]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


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


def test_operator_ports_are_distinct_and_documented() -> None:
    published = [p.split(":")[-2] for s in SERVICES.values() for p in s.get("ports", [])]
    assert len(published) == len(set(published))
    assert set(published) == {"29092", "5432", "8081", "8082", "8083", "8084", "9090", "3000"}
    # The services' HTTP ports (read APIs among them) are published on the loopback only.
    for name in ("catalog", "assignment", "charger", "allowance", "prometheus", "grafana"):
        assert all(p.startswith("127.0.0.1:") for p in SERVICES[name]["ports"]), name


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


def _metric_names() -> set[str]:
    """Every metric a service exposes (the modules that define them imported), as Prometheus
    names them in queries (counters with _total, histograms with _bucket and so on)."""
    import importlib

    from prometheus_client import REGISTRY

    for module in ("pkgshared.metrics", "charger.metrics", "allowance.metrics"):
        importlib.import_module(module)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    names = {"up"}
    for family in REGISTRY.collect():
        names |= {family.name, *(family.name + s for s in suffixes.get(family.type, ()))}
    return names


def _queried(expr: str) -> set[str]:
    words = set(re.findall(r"\b[a-z_]+_[a-z_]+\b", expr)) | set(re.findall(r"\bup\b", expr))
    functions = {"histogram_quantile", "by", "and", "sum", "rate", "delta", "deriv", "time"}
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
