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

init() {
  mkdir -p "$AIRFLOW_HOME"
  log "migrating metadata DB in $AIRFLOW_HOME"
  airflow db migrate >"$STATE_DIR/airflow-migrate.log" 2>&1 \
    || { tail -n 30 "$STATE_DIR/airflow-migrate.log" >&2; exit 1; }
  log "applying airflow_settings.yaml"
  python -m scripts.load_airflow_settings "$PROJECT_ROOT/airflow_settings.yaml"
}

is_healthy() {
  # Healthy means every component the health endpoint reports (metadatabase, scheduler,
  # triggerer, dag processor) says so, not merely that the API server answers.
  local body
  body=$(curl -fsS -m 5 "$HEALTH_URL" 2>/dev/null) || return 1
  python -c '
import json, sys
health = json.loads(sys.argv[1])
parts = [v for v in health.values() if isinstance(v, dict)]
sys.exit(0 if parts and all(v.get("status") == "healthy" for v in parts) else 1)' "$body"
}

running_pgid() {
  [ -s "$PID_FILE" ] || return 1
  local pgid; pgid=$(cat "$PID_FILE")
  kill -0 -- "-$pgid" 2>/dev/null && echo "$pgid"
}

print_access() {
  local users="admin"
  echo "Airflow UI:  http://localhost:$AIRFLOW_PORT"
  if [ -s "$PASSWORDS" ]; then
    echo "Login:       $(python -c 'import json,sys; print(", ".join(f"{u} / {p}" for u, p in json.load(open(sys.argv[1])).items()))' "$PASSWORDS")"
  else
    echo "Login:       user $users, password in $PASSWORDS once standalone has started"
  fi
  echo "Logs:        $LOG_FILE"
}

start() {
  if running_pgid >/dev/null && is_healthy; then log "already running"; print_access; return; fi
  init
  mkdir -p "$(dirname "$LOG_FILE")"
  log "starting airflow standalone on port $AIRFLOW_PORT"
  setsid airflow standalone >"$LOG_FILE" 2>&1 < /dev/null &
  echo $! >"$PID_FILE"
  local waited=0
  until is_healthy; do
    if ! running_pgid >/dev/null; then tail -n 40 "$LOG_FILE" >&2; log "standalone exited"; exit 1; fi
    if [ "$waited" -ge "${AIRFLOW_START_TIMEOUT:-180}" ]; then
      tail -n 40 "$LOG_FILE" >&2; log "not healthy after ${waited}s"; stop; exit 1
    fi
    sleep 2; waited=$((waited + 2))
  done
  log "healthy after ${waited}s"
  print_access
}

stop() {
  local pgid
  if ! pgid=$(running_pgid); then log "not running"; rm -f "$PID_FILE"; return; fi
  log "stopping process group $pgid"
  kill -TERM -- "-$pgid" 2>/dev/null || true
  local waited=0
  while kill -0 -- "-$pgid" 2>/dev/null; do
    if [ "$waited" -ge 30 ]; then log "still running after 30s: SIGKILL"; kill -KILL -- "-$pgid" 2>/dev/null || true; fi
    sleep 1; waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  log "stopped"
}

status() {
  if running_pgid >/dev/null && is_healthy; then print_access; else log "not running"; return 3; fi
}

case "${1:-}" in
  init) init ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 init|start|stop|status" >&2; exit 2 ;;
esac
