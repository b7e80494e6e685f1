#!/usr/bin/env bash
# Run every test against real services: starts the local Elasticsearch nodes (an open one and
# a secured one) and PostgreSQL (the live Airflow's metadata DB in the e2e tests) if they are
# not already up, installs Debian's Chromium for the browser tests if missing, runs pytest, and stops what it started, also when tests fail or are interrupted.
# Extra arguments go to pytest (e.g. scripts/run_tests.sh -m "not e2e" -k settings).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$PROJECT_ROOT"

# Each service this script starts is named in $started_list, to be stopped at the end.
started_list=$(mktemp)
cleanup() {
  local service
  while read -r service; do
    case "$service" in
      elasticsearch-secured) ES_PORT="$ES_SECURED_PORT" scripts/elasticsearch.sh stop || true ;;
      *) scripts/"$service".sh stop || true ;;
    esac
  done <"$started_list"
  rm -f "$started_list"
}
trap cleanup EXIT INT TERM

# The services, started side by side (they wait for different things): the open node, the
# secured one (tests/secured.py; ES_SECURITY=on, its node remembers), and PostgreSQL.
export ES_SECURED_PORT="${ES_SECURED_PORT:-9201}"
ensure_running() {  # ensure_running NAME COMMAND...: start unless running; record what started
  local name="$1"; shift
  if ! "$@" status >/dev/null 2>&1; then
    "$@" start && echo "$name" >>"$started_list"
  fi
}
scripts/elasticsearch.sh install  # one download and unpack, before two nodes want it
pids=()
ensure_running elasticsearch scripts/elasticsearch.sh & pids+=($!)
ensure_running elasticsearch-secured env ES_PORT="$ES_SECURED_PORT" ES_SECURITY=on scripts/elasticsearch.sh & pids+=($!)
ensure_running postgres scripts/postgres.sh & pids+=($!)
scripts/chromium.sh install & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid" || exit 1; done

python -m pytest "$@"
