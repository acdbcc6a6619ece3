#!/usr/bin/env bash
# The whole test suite (make test).
#  1. unit tests on the embedded defaults (SQLite, filesystem broker);
#  2. integration + browser tests with real worker processes on PostgreSQL + Redis
#     when both are reachable (as in CI), on the embedded defaults otherwise;
#  3. the quick integration test on the embedded defaults too, so both paths run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

PG_URL=${ARGUS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_BASE=${ARGUS_TEST_REDIS_URL:-redis://127.0.0.1:6379}

reachable() {
  "$PY" - "$1" <<'PY'
import socket, sys
from urllib.parse import urlsplit
u = urlsplit(sys.argv[1])
try:
    socket.create_connection((u.hostname, u.port), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}

embedded=(env -u DATABASE_URL -u CELERY_BROKER_URL -u REDIS_URL -u CACHE_URL -u QDRANT_URL)
start=$(date +%s)

echo "== lint (ruff)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== 1/3 unit tests on the embedded defaults (SQLite, filesystem broker)"
"${embedded[@]}" "$PY" -m pytest -m "not integration and not browser" -n 2 -q

if reachable "$PG_URL" && reachable "$REDIS_BASE"; then
  echo "== 2/3 integration and browser tests on PostgreSQL + Redis"
  DATABASE_URL="$PG_URL" CELERY_BROKER_URL="$REDIS_BASE/0" REDIS_URL="$REDIS_BASE/1" \
    "$PY" -m pytest -m "integration or browser" -q
else
  echo "== 2/3 integration and browser tests on the embedded defaults (PostgreSQL/Redis not reachable)"
  "${embedded[@]}" "$PY" -m pytest -m "integration or browser" -q
fi

echo "== 3/3 quick integration test on the embedded defaults"
"${embedded[@]}" "$PY" -m pytest -m "integration and not slow and not browser" -q

echo "== test suite finished in $(( $(date +%s) - start ))s"
