#!/usr/bin/env bash
# The README's "run it" command without Docker: local Kafka and PostgreSQL (unless
# KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL point elsewhere, as for `make test`), then every
# service as a process (logs in .run/logs, pids in .run/pids), then a small demo through Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
local_infra=0
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
  eval "$(bash deploy/local/infra.sh up)"
  local_infra=1
fi
export KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
# RUN_DIR (default .run): where logs and pids go; HTTP_PORT_BASE (8081): the first service's
# port, the others follow; SERVICES: which to start; TICKER=0 starts no ticker, DEMO=0 runs
# no demo.
run_dir=${RUN_DIR:-.run}
mkdir -p "$run_dir/logs" "$run_dir/pids"

# The services run from the locked environment's own scripts, not through `uv run`: the pid
# kept in .run/pids is then the service process itself (kill -9 of it leaves no orphan
# holding its port).
venv_bin=$(uv run --frozen python -c 'import os, sys; print(os.path.dirname(sys.executable))')

# shellcheck source=scripts/processes.sh
source scripts/processes.sh

start() {  # name, port (or ""), command...
  local name=$1 port=$2; shift 2
  local pidfile="$run_dir/pids/$name.pid"
  if [ -f "$pidfile" ] && running "$(cat "$pidfile")"; then
    echo "[up] $name already running (pid $(cat "$pidfile"))"; return
  fi
  rm -f "$pidfile"
  if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "[up] cannot start $name: 127.0.0.1:$port is taken by another process" >&2
    exit 1
  fi
  nohup "$@" >"$run_dir/logs/$name.log" 2>&1 </dev/null &
  echo $! > "$pidfile"
  echo "[up] $name started (pid $!, log $run_dir/logs/$name.log)"
}

# Schemas named after the Kafka cluster: a new local broker (a fresh clone, a wiped cache)
# gets new schemas instead of ones whose offsets belong to another cluster (SCHEMA_TAG: a
# name of one's own instead, as the tests that run this script give).
tag=${SCHEMA_TAG:-$(uv run --frozen python -m pkgshared.topic_admin cluster-tag --bootstrap "$KAFKA_BOOTSTRAP_SERVERS")}
http_port=${HTTP_PORT_BASE:-8081}
ports=() names=()
for service in ${SERVICES:-catalog assignment charger allowance}; do
  # Locally each service logs in with its own role (deploy/postgres/roles.sql); elsewhere
  # with the DATABASE_URL given, each in a schema of its own.
  url=$DATABASE_URL
  if [ "$local_infra" = 1 ]; then
    url="postgresql://$service:$service@127.0.0.1:${PGPORT:-5432}/packages?sslmode=disable"
  fi
  DATABASE_URL=$url DB_SCHEMA="${service}_$tag" HTTP_PORT=$http_port start "$service" "$http_port" "$venv_bin/$service-service"
  ports+=("$http_port") names+=("$service")
  http_port=$((http_port + 1))
done
if [ "${TICKER:-1}" != 0 ]; then
  TICK_INTERVAL_SECONDS=${TICK_INTERVAL_SECONDS:-60} start ticker "" "$venv_bin/ticker"
fi
healthy() {
  python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
    "http://127.0.0.1:$1/health" >/dev/null 2>&1
}
for port in "${ports[@]}"; do
  for _ in $(seq 1 120); do
    healthy "$port" && break
    sleep 0.5
  done
  if ! healthy "$port"; then
    echo "[up] the service on port $port is not healthy; last log lines:" >&2
    tail -n 20 "$run_dir"/logs/*.log >&2
    exit 1
  fi
done
echo "[up] Kafka on $KAFKA_BOOTSTRAP_SERVERS; /health, /metrics and /openapi.json on"
listing=""
for i in "${!names[@]}"; do listing+="${listing:+, }127.0.0.1:${ports[$i]} (${names[$i]})"; done
echo "[up]   $listing"
# pkgctl's profile `local` (PKGCTL_PROFILE_NAME: another name) for the system started here:
# its broker as the services reach it (on the SASL listener, as the operator user, the password
# read from users.env when pkgctl runs) and its read APIs (docs/operations.md "Profiles").
profile=(--bootstrap-servers "$KAFKA_BOOTSTRAP_SERVERS")
if [ "${KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}" != PLAINTEXT ]; then
  profile+=(--security-protocol "$KAFKA_SECURITY_PROTOCOL")
  if [ "$local_infra" = 1 ]; then
    profile+=(--sasl-mechanism SCRAM-SHA-512 --username operator
      --password-file "$PWD/deploy/local/.cache/kafka/users.env"
      --password-key KAFKA_USER_OPERATOR_PASSWORD)
  else  # someone else's cluster: its password stays in KAFKA_SASL_PASSWORD, not in a file
    [ -n "${KAFKA_SASL_MECHANISM:-}" ] && profile+=(--sasl-mechanism "$KAFKA_SASL_MECHANISM")
    [ -n "${KAFKA_SASL_USERNAME:-}" ] && profile+=(--username "$KAFKA_SASL_USERNAME")
  fi
  [ -n "${KAFKA_SSL_CAFILE:-}" ] && profile+=(--ssl-cafile "$KAFKA_SSL_CAFILE")
fi
for i in "${!names[@]}"; do
  profile+=("--${names[$i]}-api" "http://127.0.0.1:${ports[$i]}")
done
[ -n "${TOPIC_PREFIX:-}" ] && profile+=(--topic-prefix "$TOPIC_PREFIX")
"$venv_bin/pkgctl" profiles save "${PKGCTL_PROFILE_NAME:-local}" "${profile[@]}" | sed 's/^/[up] pkgctl /'
echo "[up] metrics and alerts: prometheus --config.file=deploy/observability/prometheus-local.yml"
if [ "${DEMO:-1}" != 0 ]; then uv run --frozen python scripts/demo.py; fi
echo "[up] running; logs in $run_dir/logs; the whole system: uv run pkgctl --profile ${PKGCTL_PROFILE_NAME:-local} status; a customer: ... customer ID"
echo "[up] stop everything with: make down"
