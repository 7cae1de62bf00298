#!/usr/bin/env bash
# Stops what `make up` started: the service processes, then the local Kafka and PostgreSQL
# (RUN_DIR as for up.sh; KEEP_INFRA=1 leaves Kafka and PostgreSQL running).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/processes.sh
source scripts/processes.sh
for pidfile in "${RUN_DIR:-.run}"/pids/*.pid; do
  [ -e "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if running "$pid"; then
    kill "$pid"
    for _ in $(seq 1 40); do running "$pid" || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    echo "[down] stopped $(basename "$pidfile" .pid)"
  fi
  rm -f "$pidfile"
done
if [ "${KEEP_INFRA:-0}" != 1 ]; then bash deploy/local/infra.sh down; fi
