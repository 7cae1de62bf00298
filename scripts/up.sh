#!/usr/bin/env bash
# The README's "run it" command without Docker: local Kafka and PostgreSQL, then every service
# as a process (logs in .run/logs, pids in .run/pids), then a small demo through Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
eval "$(bash deploy/local/infra.sh up)"
export KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
mkdir -p .run/logs .run/pids

start() {  # name, command...
  local name=$1; shift
  local pidfile=".run/pids/$name.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "[up] $name already running (pid $(cat "$pidfile"))"; return
  fi
  nohup "$@" >".run/logs/$name.log" 2>&1 </dev/null &
  echo $! > "$pidfile"
  echo "[up] $name started (pid $!, log .run/logs/$name.log)"
}

# Schemas named after the Kafka cluster: a new local broker (a fresh clone, a wiped cache)
# gets new schemas instead of ones whose offsets belong to another cluster.
tag=$(uv run --frozen python -m pkgshared.topics cluster-tag --bootstrap "$KAFKA_BOOTSTRAP_SERVERS")
http_port=8081
for service in ${SERVICES:-catalog assignment charger allowance}; do
  # Each service logs in with its own role (deploy/postgres/roles.sql).
  DATABASE_URL="postgresql://$service:$service@127.0.0.1:${PGPORT:-5432}/packages?sslmode=disable" \
    DB_SCHEMA="${service}_$tag" HTTP_PORT=$http_port start "$service" uv run --frozen "$service-service"
  http_port=$((http_port + 1))
done
TICK_INTERVAL_SECONDS=${TICK_INTERVAL_SECONDS:-60} start ticker uv run --frozen ticker
healthy() {
  python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" \
    "http://127.0.0.1:$1/health" >/dev/null 2>&1
}
for port in 8081 8082 8083 8084; do
  for _ in $(seq 1 120); do
    healthy "$port" && break
    sleep 0.5
  done
  if ! healthy "$port"; then
    echo "[up] the service on port $port is not healthy; last log lines:" >&2
    tail -n 20 .run/logs/*.log >&2
    exit 1
  fi
done
echo "[up] Kafka on $KAFKA_BOOTSTRAP_SERVERS; /health, /metrics and /openapi.json on"
echo "[up]   127.0.0.1:8081 (catalog), :8082 (assignment), :8083 (charger), :8084 (allowance)"
echo "[up] metrics and alerts: prometheus --config.file=deploy/observability/prometheus-local.yml"
uv run --frozen python scripts/demo.py
echo "[up] running; logs in .run/logs; a customer at a glance: uv run pkgctl customer ID"
echo "[up] stop everything with: make down"
