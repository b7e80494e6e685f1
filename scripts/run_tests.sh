#!/usr/bin/env bash
# Run every test against real services: starts the local Elasticsearch if it is not already
# up, runs pytest, and stops what it started, also when tests fail or are interrupted.
# Extra arguments go to pytest (e.g. scripts/run_tests.sh -m "not e2e" -k settings).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"

started_es=0
cleanup() {
  if [ "$started_es" = 1 ]; then scripts/elasticsearch.sh stop || true; fi
}
trap cleanup EXIT INT TERM

if ! scripts/elasticsearch.sh status >/dev/null 2>&1; then
  scripts/elasticsearch.sh start
  started_es=1
fi

python -m pytest "$@"
