#!/usr/bin/env bash
# The test command of the README: installs what is missing, starts the local Kafka and PostgreSQL
# unless KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL point elsewhere, then runs every tier.
# Extra arguments go to pytest (e.g. `scripts/test.sh -m unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
  eval "$(bash deploy/local/infra.sh up)"
fi
exec uv run --frozen pytest "$@"
