# Sourced by airflow.sh and celery_stack.sh: Airflow components run each in a process group of
# their own (setsid), recorded in a pgid file, and are stopped by signalling the whole group
# (signalling only the parent leaves orphans: task processes, log servers, gunicorn workers).
# Needs log() from the caller.

# group_running PGID_FILE: print the pgid when that group still has a process.
group_running() {
  [ -s "$1" ] || return 1
  local pgid; pgid=$(cat "$1")
  kill -0 -- "-$pgid" 2>/dev/null && echo "$pgid"
}

# start_group PGID_FILE LOG_FILE COMMAND...: COMMAND in the background in a new session.
start_group() {
  local pgid_file="$1" log_file="$2"; shift 2
  mkdir -p "$(dirname "$pgid_file")" "$(dirname "$log_file")"
  setsid "$@" >"$log_file" 2>&1 </dev/null &
  echo $! >"$pgid_file"
}

# stop_groups PGID_FILE...: SIGTERM every group at once, SIGKILL what is left of them after
# STOP_TIMEOUT (30 s): stopping takes as long as the slowest, not the sum (the Airflow 3.3
# scheduler often outlives a SIGTERM).
stop_groups() {
  local file pgid pending=()
  for file in "$@"; do
    if pgid=$(group_running "$file"); then
      log "stopping $(basename "$file" .pgid) (process group $pgid)"
      kill -TERM -- "-$pgid" 2>/dev/null || true
      pending+=("$pgid")
    fi
  done
  local waited=0 alive
  while :; do
    alive=()
    for pgid in "${pending[@]}"; do kill -0 -- "-$pgid" 2>/dev/null && alive+=("$pgid"); done
    [ ${#alive[@]} -eq 0 ] && break
    if [ "$waited" -ge "${STOP_TIMEOUT:-30}" ]; then
      log "still running after ${waited}s: SIGKILL to process group(s) ${alive[*]}"
      for pgid in "${alive[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
    fi
    sleep 1; waited=$((waited + 1))
  done
  rm -f "$@"
}

# airflow_healthy URL: every component the health endpoint reports (metadatabase, scheduler,
# triggerer, dag processor) says so, not merely that the API server answers.
airflow_healthy() {
  local body
  body=$(curl -fsS -m 5 "$1" 2>/dev/null) || return 1
  python -c '
import json, sys
health = json.loads(sys.argv[1])
parts = [v for v in health.values() if isinstance(v, dict)]
sys.exit(0 if parts and all(v.get("status") == "healthy" for v in parts) else 1)' "$body"
}

# print_access PORT PASSWORDS_FILE LOG: where the UI is and how to log in.
print_access() {
  echo "Airflow UI:  http://localhost:$1"
  if [ -s "$2" ]; then
    echo "Login:       $(python -c 'import json,sys; print(", ".join(f"{u} / {p}" for u, p in json.load(open(sys.argv[1])).items()))' "$2")"
  else
    echo "Login:       user admin, password in $2 once the API server has started"
  fi
  echo "Logs:        $3"
}
