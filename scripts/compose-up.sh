#!/usr/bin/env bash
# make compose-up: .env with this machine's random passwords (once), then the compose system,
# up and healthy. The official images unless KAFKA_IMAGE / POSTGRES_IMAGE / PYTHON_IMAGE /
# UV_IMAGE say otherwise (deploy/standins/build.sh prints stand-ins for a machine without a
# registry: eval "$(bash deploy/standins/build.sh)" && make compose-up).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/compose-env.sh
docker compose up -d --build --wait --wait-timeout 300
echo "[compose] up: read APIs on 127.0.0.1:8081-8084, Kafka (SASL) on 127.0.0.1:${KAFKA_PORT:-29092}"
echo "[compose] stop with: make compose-down (docker compose down -v also drops the data)"
