#!/usr/bin/env bash
# Builds stand-ins for the images docker-compose.yml uses, on a machine whose Docker engine
# cannot reach an image registry: a Debian base made with debootstrap from Debian's packages
# (`docker import`), then Kafka (the Maven Central jars deploy/local/infra.sh fetches), Debian's
# PostgreSQL and Python, and this machine's uv. Each is built once (a cached image is kept).
# Prints the exports that point the compose file at them:
#
#   eval "$(bash deploy/standins/build.sh)" && docker compose up -d --wait
#
# Users with a registry keep the official images: the compose file's defaults.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/deploy/local/.cache/standins"
log() { printf '[standins] %s\n' "$*" >&2; }

BASE=packages-standin/debian:bookworm
KAFKA=packages-standin/kafka:4.3.1
POSTGRES=packages-standin/postgres:15
PYTHON=packages-standin/python:3.11-bookworm
UV=packages-standin/uv:local

have() { docker image inspect "$1" >/dev/null 2>&1; }

base() {
  have "$BASE" && return
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  log "making a Debian bookworm base with debootstrap (about a minute, once)"
  rm -rf "$cache/rootfs"; mkdir -p "$cache"
  debootstrap --variant=minbase bookworm "$cache/rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
    || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
  tar -C "$cache/rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$cache/rootfs"
}

build() {  # image, dockerfile, context
  have "$1" && return
  log "building $1"
  docker build -q --build-arg BASE="$BASE" -t "$1" -f "$2" "$3" >/dev/null
}

base
bash "$root/deploy/local/infra.sh" fetch
context=$(mktemp -d); trap 'rm -rf "$context"' EXIT
cp -r "$root/deploy/local/.cache/kafka/lib" "$context/libs"
cp "$root/deploy/local/kafka/log4j2.properties" "$here/kafka-run.sh" "$here/kafka-tool.sh" "$context/"
build "$KAFKA" "$here/kafka.Dockerfile" "$context"
build "$POSTGRES" "$here/postgres.Dockerfile" "$here"
build "$PYTHON" "$here/python.Dockerfile" "$here"
mkdir -p "$context/uv" && cp "$(command -v uv)" "$context/uv/uv"
build "$UV" "$here/uv.Dockerfile" "$context/uv"
echo "export KAFKA_IMAGE=$KAFKA POSTGRES_IMAGE=$POSTGRES PYTHON_IMAGE=$PYTHON UV_IMAGE=$UV"
