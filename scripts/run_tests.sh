#!/usr/bin/env bash
# Run every test against real services: starts the local Elasticsearch and PostgreSQL (the
# live Airflow's metadata DB in the e2e tests) if they are not already up, runs pytest, and
# stops what it started, also when tests fail or are interrupted.
# Extra arguments go to pytest (e.g. scripts/run_tests.sh -m "not e2e" -k settings).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"

started=()
cleanup() {
  local service
  for service in "${started[@]}"; do scripts/"$service".sh stop || true; done
}
trap cleanup EXIT INT TERM

for service in elasticsearch postgres; do
  if ! scripts/"$service".sh status >/dev/null 2>&1; then
    scripts/"$service".sh start
    started+=("$service")
  fi
done

python -m pytest "$@"
