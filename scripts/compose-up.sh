#!/usr/bin/env bash
# make compose-up: .env with this machine's random passwords (once), then the compose system,
# up and healthy. The official images unless KAFKA_IMAGE / POSTGRES_IMAGE / PYTHON_IMAGE /
# UV_IMAGE say otherwise (deploy/standins/build.sh prints stand-ins for a machine without a
# registry: eval "$(bash deploy/standins/build.sh)" && make compose-up).
#
# make compose-cluster-up (--cluster): three brokers and two instances of every service
# (deploy/compose/cluster.yml over docker-compose.yml), as project packages-cluster; the Docker
# engine, `docker compose` and stand-in images obtained as the compose tests do
# (scripts/compose-engine.sh; COMPOSE_IMAGES=official keeps the official images).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --cluster ]; then
  log() { printf '[compose] %s\n' "$*" >&2; }
  # shellcheck source=scripts/compose-engine.sh
  source scripts/compose-engine.sh
  export COMPOSE_FILE=docker-compose.yml:deploy/compose/cluster.yml COMPOSE_PROJECT_NAME=packages-cluster
  docker compose up -d --build --wait --wait-timeout 600
  echo "[compose] cluster up: read APIs on 127.0.0.1:8081-8084 and 8091-8094, Kafka (SASL) on 127.0.0.1:${KAFKA_PORT:-29092},${KAFKA_2_PORT:-29093},${KAFKA_3_PORT:-29094}"
  echo "[compose] stop with: make compose-cluster-down"
  exit 0
fi
bash scripts/compose-env.sh
docker compose up -d --build --wait --wait-timeout 300
# The ports as published (docker compose port: the port variables, from the environment or
# .env, already applied), each falling back to its variable.
port_of() {  # service, container port, variable's value
  local found
  found=$(docker compose port "$1" "$2" 2>/dev/null | tail -n 1 | sed 's/.*://')
  echo "${found:-$3}"
}
kafka_port=$(port_of kafka 29092 "${KAFKA_PORT:-29092}")
catalog_port=$(port_of catalog 8080 "${CATALOG_PORT:-8081}")
assignment_port=$(port_of assignment 8080 "${ASSIGNMENT_PORT:-8082}")
charger_port=$(port_of charger 8080 "${CHARGER_PORT:-8083}")
allowance_port=$(port_of allowance 8080 "${ALLOWANCE_PORT:-8084}")
echo "[compose] up: read APIs on 127.0.0.1:$catalog_port (catalog), :$assignment_port (assignment), :$charger_port (charger), :$allowance_port (allowance)"
echo "[compose] Kafka (SASL_PLAINTEXT, SCRAM-SHA-512) on 127.0.0.1:$kafka_port; the operator user's password is KAFKA_USER_OPERATOR_PASSWORD in .env"
# pkgctl's profile `compose` (PKGCTL_PROFILE_NAME: another name): the operator user, its
# password read from .env when pkgctl runs (docs/operations.md "Profiles").
if command -v uv >/dev/null 2>&1; then
  uv run --frozen --quiet pkgctl profiles save "${PKGCTL_PROFILE_NAME:-compose}" \
    --bootstrap-servers "127.0.0.1:$kafka_port" --security-protocol SASL_PLAINTEXT \
    --sasl-mechanism SCRAM-SHA-512 --username operator \
    --password-file "$PWD/.env" --password-key KAFKA_USER_OPERATOR_PASSWORD \
    --catalog-api "http://127.0.0.1:$catalog_port" \
    --assignment-api "http://127.0.0.1:$assignment_port" \
    --charger-api "http://127.0.0.1:$charger_port" \
    --allowance-api "http://127.0.0.1:$allowance_port" | sed 's/^/[compose] pkgctl /'
  echo "[compose] pkgctl: uv run pkgctl --profile ${PKGCTL_PROFILE_NAME:-compose} status"
else
  echo "[compose] uv not found: no pkgctl profile written (docs/operations.md \"Profiles\")"
fi
echo "[compose] logs: docker compose logs -f SERVICE (catalog, assignment, charger, allowance, ticker, kafka)"
echo "[compose] stop with: make compose-down (docker compose down -v also drops the data)"
