#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: uv and the locked Python environment, a JDK
# and Maven (for the local Kafka), PostgreSQL (started later by deploy/local/infra.sh), promtool.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v uv >/dev/null 2>&1; then
  echo "[bootstrap] installing uv" >&2
  python3 -m pip install -q --disable-pip-version-check uv 2>/dev/null \
    || python3 -m pip install -q --disable-pip-version-check --break-system-packages uv
fi
# Bytecode written at install time: where PYTHONDONTWRITEBYTECODE is set (as on the project's
# machines) every process would otherwise compile its imports again, which doubled pkgctl's
# start (docs/benchmarks.md). The project's own sources too (their __pycache__ is ignored).
uv sync --frozen --quiet --compile-bytecode
uv run --frozen --quiet python -m compileall -q shared/src tools/pkgctl/src services/*/src >/dev/null

command -v java >/dev/null 2>&1 || { echo "[bootstrap] installing a JDK" >&2; apt_install openjdk-17-jre-headless; }
command -v mvn >/dev/null 2>&1 || { echo "[bootstrap] installing Maven" >&2; apt_install maven; }
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "[bootstrap] installing PostgreSQL" >&2
  apt_install postgresql
fi
# promtool checks the Prometheus configuration and alert rules (scripts/lint.sh).
command -v promtool >/dev/null 2>&1 || {
  echo "[bootstrap] installing promtool (Debian's prometheus)" >&2
  apt_install --no-install-recommends prometheus
}
bash deploy/local/infra.sh fetch
