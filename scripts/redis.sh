#!/usr/bin/env bash
# Local Redis, the Celery broker of `make up EXECUTOR=celery` and of the Celery e2e tests:
# start | stop | status | url [DB].
#
# The server is Debian's `redis-server` package (installed if missing, under root); this script
# runs one server of its own on a loopback port, outside the repository:
#   REDIS_BASE_DIR   (root: /var/lib/airflow-anomaly-redis, others: ~/.local/share/airflow-anomaly-redis)
# One server per port: $REDIS_BASE_DIR/<port>/{redis.conf,redis.log,redis.pid}. A random
# password is generated at the first start, kept in $REDIS_BASE_DIR/<port>.password (mode 600)
# and in the server's config file (mode 600), never on a command line, where `ps` would show it.
# Nothing is persisted: a broker's queue that outlives a test stack would only confuse the next.
# `start` reuses a server already answering on the port; `url DB` prints the broker URL.
set -euo pipefail

REDIS_PORT="${REDIS_PORT:-6380}"
REDIS_OS_USER="${REDIS_OS_USER:-airflow-anomaly-redis}"
if [ "$(id -u)" = 0 ]; then
  REDIS_BASE_DIR="${REDIS_BASE_DIR:-/var/lib/airflow-anomaly-redis}"
else
  REDIS_BASE_DIR="${REDIS_BASE_DIR:-$HOME/.local/share/airflow-anomaly-redis}"
fi
SERVER_DIR="$REDIS_BASE_DIR/$REDIS_PORT"
CONFIG_FILE="$SERVER_DIR/redis.conf"
PID_FILE="$SERVER_DIR/redis.pid"
PASSWORD_FILE="$REDIS_BASE_DIR/$REDIS_PORT.password"

log() { printf '[redis:%s] %s\n' "$REDIS_PORT" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/system_user.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/system_user.sh"
# shellcheck source=lib/debian_package.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian_package.sh"

ensure_installed() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return
  install_debian_package redis-server "put redis-server and redis-cli on PATH"
}

cli() {
  # The password through the environment (redis-cli's REDISCLI_AUTH), not the command line.
  REDISCLI_AUTH="$(cat "$PASSWORD_FILE")" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

is_ready() { [ -s "$PASSWORD_FILE" ] && [ "$(cli ping 2>/dev/null)" = PONG ]; }

write_config() {
  [ -s "$PASSWORD_FILE" ] && [ -s "$CONFIG_FILE" ] && return
  mkdir -p "$SERVER_DIR"
  umask 077
  python3 -c 'import secrets; print(secrets.token_hex(16))' >"$PASSWORD_FILE"
  cat >"$CONFIG_FILE" <<EOF
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
requirepass $(cat "$PASSWORD_FILE")
daemonize yes
pidfile $PID_FILE
logfile $SERVER_DIR/redis.log
dir $SERVER_DIR
save ""
appendonly no
EOF
  umask 022
  if [ "$(id -u)" = 0 ]; then
    chown -R "$REDIS_OS_USER:" "$SERVER_DIR"
    chmod 755 "$REDIS_BASE_DIR"
  fi
}

start() {
  if is_ready; then log "already running on 127.0.0.1:$REDIS_PORT (reused)"; return; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null; then
    die "port $REDIS_PORT is taken by something this script cannot log in to"
  fi
  ensure_installed
  ensure_system_user "$REDIS_OS_USER" "$REDIS_BASE_DIR"
  mkdir -p "$REDIS_BASE_DIR"
  write_config
  log "starting $(redis-server --version | cut -d' ' -f3) from $SERVER_DIR"
  run_as "$REDIS_OS_USER" redis-server "$CONFIG_FILE" || die "redis-server did not start (see $SERVER_DIR/redis.log)"
  local waited=0
  until is_ready; do
    [ "$waited" -ge 50 ] && { tail -n 20 "$SERVER_DIR/redis.log" >&2; die "not answering after 5 s"; }
    sleep 0.1; waited=$((waited + 1))
  done
  log "ready on 127.0.0.1:$REDIS_PORT"
}

stop() {
  if ! is_ready; then log "not running"; return; fi
  log "stopping"
  cli shutdown nosave >/dev/null 2>&1 || true
  local waited=0
  while is_ready; do
    [ "$waited" -ge 100 ] && die "still answering after 10 s"
    sleep 0.1; waited=$((waited + 1))
  done
  log "stopped"
}

status() {
  if is_ready; then log "running on 127.0.0.1:$REDIS_PORT ($SERVER_DIR)"; else log "not running"; return 3; fi
}

url() {
  local db="${1:-0}"
  [[ "$db" =~ ^[0-9]+$ ]] || die "a database number is needed, got '$db'"
  [ -s "$PASSWORD_FILE" ] || die "no server on port $REDIS_PORT yet: run '$0 start'"
  # No newline: Airflow takes a `_CMD` setting's output as it is.
  printf '%s' "redis://:$(cat "$PASSWORD_FILE")@127.0.0.1:$REDIS_PORT/$db"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) url "${2:-}" ;;
  *) echo "usage: $0 start|stop|status|url [DB]   (env: REDIS_PORT, REDIS_BASE_DIR)" >&2; exit 2 ;;
esac
