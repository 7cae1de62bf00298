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
echo "[compose] up: read APIs on 127.0.0.1:8081-8084, Kafka (SASL) on 127.0.0.1:${KAFKA_PORT:-29092}"
echo "[compose] stop with: make compose-down (docker compose down -v also drops the data)"
