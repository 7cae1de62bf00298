#!/usr/bin/env bash
# Makes `docker compose` work on a machine that has only the docker CLI: builds Docker Compose
# v5.6.0 from the Go module proxy (a scratch module: `go install` refuses the module for its
# exclude directives), once, into deploy/local/.cache/compose/, and installs it as the CLI
# plugin ~/.docker/cli-plugins/docker-compose. Does nothing when `docker compose` answers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$here/../local/.cache/compose"
version=v5.6.0
docker compose version >/dev/null 2>&1 && exit 0
export PATH="$PATH:/usr/local/go/bin"  # where Go is put on these machines
plugin="$HOME/.docker/cli-plugins/docker-compose"
if [ ! -x "$cache/docker-compose-$version" ]; then
  command -v go >/dev/null || { echo "[compose] go not found: install Go to build Docker Compose" >&2; exit 1; }
  echo "[compose] building Docker Compose $version from the Go module proxy (once, a few minutes)" >&2
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  (cd "$work" && go mod init compose-build >/dev/null 2>&1 \
    && go get "github.com/docker/compose/v5/cmd@$version" >/dev/null 2>&1 \
    && CGO_ENABLED=0 go build -o docker-compose github.com/docker/compose/v5/cmd) \
    || { echo "[compose] the build failed" >&2; exit 1; }
  mkdir -p "$cache" && mv "$work/docker-compose" "$cache/docker-compose-$version"
fi
mkdir -p "$(dirname "$plugin")"
cp "$cache/docker-compose-$version" "$plugin"
chmod 755 "$plugin"
docker compose version >&2
