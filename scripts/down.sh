#!/usr/bin/env bash
# Stops what `make up` started: the service processes, then the local Kafka and PostgreSQL
# (RUN_DIR as for up.sh; KEEP_INFRA=1 leaves Kafka and PostgreSQL running).
set -euo pipefail
cd "$(dirname "$0")/.."
# A zombie (killed, its parent gone, not reaped) runs nothing: it does not count as running.
running() { kill -0 "$1" 2>/dev/null && ! grep -qs '^State:[[:space:]]*Z' "/proc/$1/status"; }
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
