#!/usr/bin/env bash
# Airflow on the CeleryExecutor, as on several hosts, from Debian's packages (no Docker engine
# here): start | stop | status.  `make up EXECUTOR=celery` / `make down` call it.
#
#   PostgreSQL   metadata DB and Celery result backend (scripts/postgres.sh, database AIRFLOW_DB_NAME)
#   Redis        Celery broker (scripts/redis.sh, database REDIS_DB)
#   scheduler, dag-processor, triggerer, api-server (port AIRFLOW_PORT)
#   CELERY_WORKERS workers (default 2), CELERY_WORKER_CONCURRENCY task slots each (default 2),
#                as if each were a host of its own: its own STATE_DIR ($STATE_DIR/workers/worker-N)
#                and task-health spool, its log server on WORKER_LOG_PORT_BASE+N (default 8810+N)
# Each component runs in a process group of its own (pgid files in $STATE_DIR/celery, logs in
# $STATE_DIR/logs/celery-*.log). The database and broker passwords never enter an environment
# or a command line: Airflow reads them through `_CMD` settings that ask the service scripts.
# Every worker drains its own spool (include/stack/celery_worker.py); the scheduler's host
# adopts the workers' spools (TASK_HEALTH_ADOPT_SPOOL_DIRS, set in env.sh), as it would on a
# shared volume, so a worker that is gone for good still has its events delivered.
# `stop` stops what `start` started, the services included; `stop-worker N` one worker.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf '[celery-stack] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/process_group.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/process_group.sh"

CELERY_WORKERS="${CELERY_WORKERS:-2}"
CELERY_WORKER_CONCURRENCY="${CELERY_WORKER_CONCURRENCY:-2}"
WORKER_LOG_PORT_BASE="${WORKER_LOG_PORT_BASE:-8810}"
AIRFLOW_DB_NAME="${AIRFLOW_DB_NAME:-airflow}"
REDIS_DB="${REDIS_DB:-0}"
STACK_DIR="$STATE_DIR/celery"
LOG_DIR="$STATE_DIR/logs"
SERVICES_FILE="$STACK_DIR/services-started"
HEALTH_URL="http://localhost:$AIRFLOW_PORT/api/v2/monitor/health"
PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
COMPONENTS=(scheduler dag-processor triggerer api-server)
SCRIPTS="$PROJECT_ROOT/scripts"

celery_env() {
  export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
  unset AIRFLOW__DATABASE__SQL_ALCHEMY_CONN AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS  # SQLite's (env.sh)
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD="$SCRIPTS/postgres.sh url $AIRFLOW_DB_NAME"
  export AIRFLOW__CELERY__BROKER_URL_CMD="$SCRIPTS/redis.sh url $REDIS_DB"
  export AIRFLOW__CELERY__RESULT_BACKEND_CMD="$SCRIPTS/postgres.sh url $AIRFLOW_DB_NAME db+"
  export AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=include.stack.celery_worker.CELERY_CONFIG
  export AIRFLOW__CELERY__WORKER_CONCURRENCY="$CELERY_WORKER_CONCURRENCY"
}

worker_state_dir() { echo "$STATE_DIR/workers/worker-$1"; }

start_services() {
  mkdir -p "$STACK_DIR"
  : >"$SERVICES_FILE.new"
  local service
  for service in postgres redis; do
    if ! "$SCRIPTS/$service.sh" status >/dev/null 2>&1; then
      "$SCRIPTS/$service.sh" start
      echo "$service" >>"$SERVICES_FILE.new"
    fi
  done
  [ -s "$SERVICES_FILE" ] && cat "$SERVICES_FILE" >>"$SERVICES_FILE.new"
  sort -u "$SERVICES_FILE.new" >"$SERVICES_FILE" && rm -f "$SERVICES_FILE.new"
  "$SCRIPTS/postgres.sh" createdb "$AIRFLOW_DB_NAME"
}

init() {
  mkdir -p "$AIRFLOW_HOME"
  log "migrating the metadata DB (PostgreSQL database $AIRFLOW_DB_NAME)"
  airflow db migrate >"$LOG_DIR/celery-migrate.log" 2>&1 || { tail -n 30 "$LOG_DIR/celery-migrate.log" >&2; exit 1; }
  python -m scripts.load_airflow_settings "$PROJECT_ROOT/airflow_settings.yaml"
}

start_worker() {
  local n="$1" dir; dir=$(worker_state_dir "$n")
  mkdir -p "$dir"
  log "starting worker-$n (STATE_DIR $dir, log server on port $((WORKER_LOG_PORT_BASE + n)))"
  STATE_DIR="$dir" TASK_HEALTH_SPOOL_DIR="$dir/task_health" \
    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$((WORKER_LOG_PORT_BASE + n)) \
    start_group "$STACK_DIR/worker-$n.pgid" "$LOG_DIR/celery-worker-$n.log" \
    airflow celery worker --celery-hostname "worker-$n@%h" --concurrency "$CELERY_WORKER_CONCURRENCY"
}

workers_ready() {
  local n
  for n in $(seq 1 "$CELERY_WORKERS"); do
    grep -q "worker-$n@.* ready" "$LOG_DIR/celery-worker-$n.log" 2>/dev/null || return 1
  done
}

running_components() {
  local file
  for file in "$STACK_DIR"/*.pgid; do
    [ -e "$file" ] && group_running "$file" >/dev/null && basename "$file" .pgid
  done
  return 0
}

access() { print_access "$AIRFLOW_PORT" "$PASSWORDS" "$LOG_DIR/celery-*.log"; }

start() {
  celery_env
  if [ -n "$(running_components)" ] && airflow_healthy "$HEALTH_URL" && workers_ready; then
    log "already running"; access; return
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$AIRFLOW_PORT") 2>/dev/null; then
    die "port $AIRFLOW_PORT is taken (an Airflow standalone? make down first, or set AIRFLOW_PORT)"
  fi
  mkdir -p "$LOG_DIR"
  start_services
  init
  local component
  for component in "${COMPONENTS[@]}"; do
    log "starting $component"
    start_group "$STACK_DIR/$component.pgid" "$LOG_DIR/celery-$component.log" airflow "$component"
  done
  local n
  for n in $(seq 1 "$CELERY_WORKERS"); do start_worker "$n"; done
  local waited=0
  until airflow_healthy "$HEALTH_URL" && workers_ready; do
    for component in "${COMPONENTS[@]}" $(seq -f 'worker-%g' 1 "$CELERY_WORKERS"); do
      group_running "$STACK_DIR/$component.pgid" >/dev/null && continue
      tail -n 40 "$LOG_DIR/celery-$component.log" >&2; log "$component exited"; stop; exit 1
    done
    if [ "$waited" -ge "${AIRFLOW_START_TIMEOUT:-180}" ]; then log "not healthy after ${waited}s"; stop; exit 1; fi
    sleep 2; waited=$((waited + 2))
  done
  log "healthy after ${waited}s: ${COMPONENTS[*]} and $CELERY_WORKERS workers"
  access
}

stop() {
  local component files=()
  # A worker's warm shutdown lets its running tasks finish and its drainer pass once more.
  for component in $(running_components); do files+=("$STACK_DIR/$component.pgid"); done
  [ ${#files[@]} -gt 0 ] && stop_groups "${files[@]}"
  if [ -s "$SERVICES_FILE" ]; then
    local service
    while read -r service; do "$SCRIPTS/$service.sh" stop; done <"$SERVICES_FILE"
    rm -f "$SERVICES_FILE"
  fi
  log "stopped"
}

stop_worker() {
  local n="${1:?usage: $0 stop-worker N}"
  stop_groups "$STACK_DIR/worker-$n.pgid"
}

status() {
  celery_env
  local running; running=$(running_components | tr '\n' ' ')
  if [ -n "$running" ] && airflow_healthy "$HEALTH_URL"; then
    log "running: $running"; access
  else
    log "not running${running:+ (left over: $running)}"; return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  stop-worker) stop_worker "${2:-}" ;;
  status) status ;;
  *) echo "usage: $0 start|stop|stop-worker N|status" >&2; exit 2 ;;
esac
