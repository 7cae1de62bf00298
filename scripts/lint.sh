#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
uv run --frozen ruff format --check .
uv run --frozen ruff check .
uv run --frozen mypy
