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
shopt -s nullglob
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
# A stand-in is built again when what it is built from changed (its files' digest, a label).
digest() { cat "$@" | sha256sum | cut -c1-16; }
current() {  # image, digest
  [ "$(docker image inspect -f '{{ index .Config.Labels "packages.standin" }}' "$1" 2>/dev/null)" = "$2" ]
}

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

build() {  # image, dockerfile, context, files it is made of...
  local image=$1 dockerfile=$2 context=$3; shift 3
  local sum; sum=$(digest "$dockerfile" "$@")
  current "$image" "$sum" && return
  log "building $image"
  docker build -q --build-arg BASE="$BASE" --label "packages.standin=$sum" \
    -t "$image" -f "$dockerfile" "$context" >/dev/null
}

base
bash "$root/deploy/local/infra.sh" fetch
context=$(mktemp -d); trap 'rm -rf "$context"' EXIT
cp -r "$root/deploy/local/.cache/kafka/lib" "$context/libs"
cp "$root/deploy/local/kafka/log4j2.properties" "$here/kafka-run.sh" "$here/kafka-tool.sh" "$context/"
build "$KAFKA" "$here/kafka.Dockerfile" "$context" "$here/kafka-run.sh" "$here/kafka-tool.sh"
build "$POSTGRES" "$here/postgres.Dockerfile" "$here" "$here/postgres-entrypoint.sh"
mkdir -p "$context/python/cas"
cp /usr/local/share/ca-certificates/*.crt "$context/python/cas/" 2>/dev/null || true
build "$PYTHON" "$here/python.Dockerfile" "$context/python" "$context/python/cas/"*
# The uv binary itself (`command -v uv` may be a shim script that runs it).
uv_bin=$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || command -v uv)
[ "$(head -c 4 "$uv_bin" | tr -d '\177')" = ELF ] || { log "no uv binary found ($uv_bin)"; exit 1; }
mkdir -p "$context/uv" && cp "$uv_bin" "$context/uv/uv"
build "$UV" "$here/uv.Dockerfile" "$context/uv" "$context/uv/uv"
echo "export KAFKA_IMAGE=$KAFKA POSTGRES_IMAGE=$POSTGRES PYTHON_IMAGE=$PYTHON UV_IMAGE=$UV"
