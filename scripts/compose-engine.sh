#!/usr/bin/env bash
# Sourced by the compose tests (scripts/compose-test.sh, scripts/cluster-test.sh): a Docker
# engine that answers (Debian's docker.io started as root when none does), `docker compose`
# (deploy/standins/compose-plugin.sh), stand-in images unless COMPOSE_IMAGES=official
# (deploy/standins/build.sh; it exports KAFKA_IMAGE, POSTGRES_IMAGE, PYTHON_IMAGE, UV_IMAGE),
# and .env with this machine's passwords (scripts/compose-env.sh). Expects the repository root
# as the working directory and a `log` function.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Debian's docker.io"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  log "starting dockerd"
  mkdir -p deploy/local/.cache
  as_root nohup dockerd >deploy/local/.cache/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -n 20 deploy/local/.cache/dockerd.log >&2; exit 1; }
fi
bash deploy/standins/compose-plugin.sh
if [ "${COMPOSE_IMAGES:-standins}" != official ]; then
  eval "$(bash deploy/standins/build.sh)"
  export KAFKA_IMAGE POSTGRES_IMAGE PYTHON_IMAGE UV_IMAGE
fi
bash scripts/compose-env.sh
