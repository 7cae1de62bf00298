#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
uv run --frozen ruff format --check .
uv run --frozen ruff check .
uv run --frozen mypy
# The Prometheus configuration and alert rules (promtool: Debian's prometheus package, which
# scripts/bootstrap.sh installs).
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found: run bash scripts/bootstrap.sh (it installs Debian's prometheus)" >&2
  exit 1
fi
for config in deploy/observability/prometheus.yml deploy/observability/prometheus-local.yml; do
  promtool check config --lint=all "$config" >/dev/null
done
promtool test rules deploy/observability/alerts_test.yml >/dev/null
echo "promtool: configuration and alert rules pass"
