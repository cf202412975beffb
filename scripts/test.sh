#!/usr/bin/env bash
# The test command: lint, types and every test, with real Meltano, real targets and a real
# PostgreSQL server and a real Redis (the Celery job's broker). Needs only Python 3.11, pip and
# git (PostgreSQL and Redis come from apt when missing).
#
#   bash scripts/test.sh               # everything
#   bash scripts/test.sh -m pipeline   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
source scripts/postgres.sh
source scripts/redis.sh

ensure_project_venv .venv ".[test,orchestration,distributed]"
ensure_meltano .venv-meltano
export MELTANO_BIN="$PWD/.venv-meltano/bin/meltano"

trap 'redis_stop; pg_stop' EXIT
pg_start
redis_start

say "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
say "mypy (strict)"
.venv/bin/mypy
say "pytest"
.venv/bin/pytest "$@"
