#!/usr/bin/env bash
# Writes .env beside docker-compose.yml once (mode 0600, ignored by git): a random password
# for the compose broker's admin, for each service's and the operator's Kafka user
# (pkgcontract.access) and for PostgreSQL's superuser. docker compose reads it by itself; nothing
# in the repository works as a credential. Prints nothing when .env is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .env ] && exit 0
secret() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }
users="catalog assignment charger allowance ticker operator"
umask 077
{
  echo "# Made by scripts/compose-env.sh: this machine's compose passwords. Keep it private."
  echo "KAFKA_ADMIN_PASSWORD=$(secret)"
  echo "POSTGRES_PASSWORD=$(secret)"
  for user in $users; do
    echo "KAFKA_USER_$(echo "$user" | tr '[:lower:]' '[:upper:]')_PASSWORD=$(secret)"
  done
} > .env.new
mv .env.new .env
echo "[compose] passwords made in .env (mode 0600)" >&2
