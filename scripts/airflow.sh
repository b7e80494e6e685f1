#!/usr/bin/env bash
# Local Airflow: init | start | stop | status.
#   init    migrate the metadata DB in $AIRFLOW_HOME and apply airflow_settings.yaml
#   start   `airflow standalone` in the background (own process group), wait for health,
#           print the UI URL and login
#   stop    signal the whole process group (signalling only the parent leaves orphans)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

PID_FILE="$STATE_DIR/airflow-standalone.pgid"
LOG_FILE="$STATE_DIR/logs/airflow-standalone.log"
HEALTH_URL="http://localhost:$AIRFLOW_PORT/api/v2/monitor/health"
PASSWORDS="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"

log() { printf '[airflow] %s\n' "$*" >&2; }
# shellcheck source=lib/process_group.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/process_group.sh"

init() {
  mkdir -p "$AIRFLOW_HOME"
  log "migrating metadata DB in $AIRFLOW_HOME"
  airflow db migrate >"$STATE_DIR/airflow-migrate.log" 2>&1 \
    || { tail -n 30 "$STATE_DIR/airflow-migrate.log" >&2; exit 1; }
  log "applying airflow_settings.yaml"
  python -m scripts.load_airflow_settings "$PROJECT_ROOT/airflow_settings.yaml"
}

is_healthy() { airflow_healthy "$HEALTH_URL"; }

access() { print_access "$AIRFLOW_PORT" "$PASSWORDS" "$LOG_FILE"; }

start() {
  if group_running "$PID_FILE" >/dev/null && is_healthy; then log "already running"; access; return; fi
  init
  log "starting airflow standalone on port $AIRFLOW_PORT"
  start_group "$PID_FILE" "$LOG_FILE" airflow standalone
  local waited=0
  until is_healthy; do
    if ! group_running "$PID_FILE" >/dev/null; then tail -n 40 "$LOG_FILE" >&2; log "standalone exited"; exit 1; fi
    if [ "$waited" -ge "${AIRFLOW_START_TIMEOUT:-180}" ]; then
      tail -n 40 "$LOG_FILE" >&2; log "not healthy after ${waited}s"; stop; exit 1
    fi
    sleep 2; waited=$((waited + 2))
  done
  log "healthy after ${waited}s"
  access
}

stop() {
  if ! group_running "$PID_FILE" >/dev/null; then log "not running"; rm -f "$PID_FILE"; return; fi
  stop_groups "$PID_FILE"
  log "stopped"
}

status() {
  if group_running "$PID_FILE" >/dev/null && is_healthy; then access; else log "not running"; return 3; fi
}

case "${1:-}" in
  init) init ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 init|start|stop|status" >&2; exit 2 ;;
esac
