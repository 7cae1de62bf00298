#!/usr/bin/env bash
# make compose-cluster-test: the cluster for real (deploy/compose/cluster.yml over
# docker-compose.yml: three brokers, two instances of every service), under a project and
# ports of its own, with the engine, plugin and images of scripts/compose-engine.sh. A random
# history, then a big tick during which the broker leading charger.progress, one instance of
# every service and PostgreSQL (paused 20 s) fail; then every event checked by id
# (scripts/cluster_check.py), then `docker compose down -v`. CLUSTER_CHECK_ARGS passes options
# to the check (--seed N replays a run; --customers, --tick-days, --calls size it);
# CLUSTER_KEEP=1 leaves the cluster up afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
log() { printf '[cluster-test] %s\n' "$*" >&2; }
# shellcheck source=scripts/compose-engine.sh
source scripts/compose-engine.sh

project=packages-cluster-test
export COMPOSE_FILE=docker-compose.yml:deploy/compose/cluster.yml
# Ports below the ephemeral range (32768-60999), where no outgoing connection takes them.
export KAFKA_PORT=25092 KAFKA_2_PORT=25093 KAFKA_3_PORT=25094 POSTGRES_PORT=25432
export CATALOG_PORT=28181 ASSIGNMENT_PORT=28182 CHARGER_PORT=28183 ALLOWANCE_PORT=28184
export CATALOG_2_PORT=28191 ASSIGNMENT_2_PORT=28192 CHARGER_2_PORT=28193 ALLOWANCE_2_PORT=28194
compose() { docker compose -p "$project" "$@"; }
[ "${CLUSTER_KEEP:-0}" = 1 ] || trap 'compose down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
compose down -v --remove-orphans >/dev/null 2>&1 || true  # what an interrupted run left
log "building and starting the cluster (project $project)"
up_started=$(date +%s)
compose build -q
if ! compose up -d --wait --wait-timeout 600; then
  compose ps -a >&2; compose logs --tail 30 >&2; exit 1
fi
log "up and healthy in $(( $(date +%s) - up_started )) s"

# As an operator would: over the SASL listeners, as the operator user (the admin user only
# for partition leaders and consumer groups' offsets).
env_value() { sed -n "s/^$1=//p" .env; }
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT,127.0.0.1:$KAFKA_2_PORT,127.0.0.1:$KAFKA_3_PORT
export KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT KAFKA_SASL_MECHANISM=SCRAM-SHA-512
export KAFKA_SASL_USERNAME=operator KAFKA_SASL_PASSWORD="$(env_value KAFKA_USER_OPERATOR_PASSWORD)"
export KAFKA_ADMIN_PASSWORD="$(env_value KAFKA_ADMIN_PASSWORD)"
# shellcheck disable=SC2086
if ! uv run --frozen python scripts/cluster_check.py --project "$project" ${CLUSTER_CHECK_ARGS:-}; then
  compose ps -a >&2
  compose logs --tail 40 charger charger-2 allowance allowance-2 >&2
  exit 1
fi
log "passed in $(( $(date +%s) - started )) s"
