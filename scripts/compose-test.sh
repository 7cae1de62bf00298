#!/usr/bin/env bash
# make compose-test: the compose file for real. Starts a Docker engine when none answers
# (Debian's docker.io, as root), gets `docker compose` (deploy/standins/compose-plugin.sh),
# builds the images (stand-ins from Debian's packages unless COMPOSE_IMAGES=official), starts
# the system with `docker compose up -d --wait` under a project and ports of its own, runs the
# demo against it, `pkgctl status` and `pkgctl trace` through a profile
# (scripts/compose_pkgctl.py), kills the charger container in the middle of a tick and checks that every
# charge of that tick is on its topic once (scripts/compose_check.py), then
# `docker compose down -v`.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
log() { printf '[compose-test] %s\n' "$*" >&2; }
# shellcheck source=scripts/compose-engine.sh
source scripts/compose-engine.sh

project=packages-compose-test
export KAFKA_PORT=39092 POSTGRES_PORT=35432
export CATALOG_PORT=38081 ASSIGNMENT_PORT=38082 CHARGER_PORT=38083 ALLOWANCE_PORT=38084
compose() { docker compose -p "$project" "$@"; }
trap 'compose down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
log "building and starting the system (project $project)"
up_started=$(date +%s)
compose build -q
if ! compose up -d --wait --wait-timeout 300; then
  compose ps -a >&2; compose logs --tail 30 >&2; exit 1
fi
log "up and healthy in $(( $(date +%s) - up_started )) s"

# The demo and the check as an operator would: over the SASL listener, as the operator user.
password=$(sed -n 's/^KAFKA_USER_OPERATOR_PASSWORD=//p' .env)
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT
export KAFKA_SASL_MECHANISM=SCRAM-SHA-512 KAFKA_SASL_USERNAME=operator KAFKA_SASL_PASSWORD=$password
export ASSIGNMENT_API=http://127.0.0.1:$ASSIGNMENT_PORT CHARGER_API=http://127.0.0.1:$CHARGER_PORT
export ALLOWANCE_API=http://127.0.0.1:$ALLOWANCE_PORT
uv run --frozen python scripts/demo.py
# pkgctl status and trace through a profile alone, as docs/operations.md has an operator use
# them (scripts/compose_pkgctl.py drops the variables above for pkgctl).
PKGCTL_PROFILES="$(mktemp -d)/profiles.toml"
export PKGCTL_PROFILES
uv run --frozen pkgctl profiles save compose-test \
  --bootstrap-servers "127.0.0.1:$KAFKA_PORT" --security-protocol SASL_PLAINTEXT \
  --sasl-mechanism SCRAM-SHA-512 --username operator \
  --password-file "$PWD/.env" --password-key KAFKA_USER_OPERATOR_PASSWORD \
  --catalog-api "http://127.0.0.1:$CATALOG_PORT" --assignment-api "http://127.0.0.1:$ASSIGNMENT_PORT" \
  --charger-api "http://127.0.0.1:$CHARGER_PORT" --allowance-api "http://127.0.0.1:$ALLOWANCE_PORT"
uv run --frozen python scripts/compose_pkgctl.py --profile compose-test
# COMPOSE_KILL_CHECK=0 leaves out the charger killed mid-tick: CI runs it on the cluster instead
# (scripts/cluster-test.sh kills a charger, a broker and more during a bigger tick).
if [ "${COMPOSE_KILL_CHECK:-1}" != 0 ]; then
  uv run --frozen python scripts/compose_check.py --project "$project"
fi
log "passed in $(( $(date +%s) - started )) s"
