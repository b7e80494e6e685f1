#!/usr/bin/env bash
# Local PostgreSQL for Airflow's metadata DB (tests, the Celery stack):
#   start | stop | status | url [DB [PREFIX]] | createdb DB | dropdb DB.
#
# The server is Debian's `postgresql` package (no Docker engine here); this script only runs
# one cluster of its own on a loopback port, outside the repository:
#   PG_BASE_DIR   clusters   (root: /var/lib/airflow-anomaly-pg, others: ~/.local/share/airflow-anomaly-pg)
# One cluster per port: $PG_BASE_DIR/<port>/{data,server.log,socket}. PostgreSQL refuses to run
# as root: as root we create a system user and run it through runuser. The role `airflow` gets a
# random password at init, kept in $PG_BASE_DIR/<port>.password (mode 600, the caller's), and
# the server accepts it over TCP on 127.0.0.1 only (scram-sha-256).
# `start` reuses a cluster already answering on the port; `url DB` prints the SQLAlchemy URL
# (`url DB db+`: Celery's result-backend form of it).
set -euo pipefail

PG_PORT="${PG_PORT:-5433}"
PG_OS_USER="${PG_OS_USER:-airflow-anomaly-pg}"
PG_ROLE="${PG_ROLE:-airflow}"
if [ "$(id -u)" = 0 ]; then
  PG_BASE_DIR="${PG_BASE_DIR:-/var/lib/airflow-anomaly-pg}"
else
  PG_BASE_DIR="${PG_BASE_DIR:-$HOME/.local/share/airflow-anomaly-pg}"
fi
CLUSTER_DIR="$PG_BASE_DIR/$PG_PORT"
DATA_DIR="$CLUSTER_DIR/data"
PASSWORD_FILE="$PG_BASE_DIR/$PG_PORT.password"

log() { printf '[postgres:%s] %s\n' "$PG_PORT" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/system_user.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/system_user.sh"
# shellcheck source=lib/debian_package.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian_package.sh"

pg_bin() {
  # The newest server installed by Debian's packages (postgresql-15 here), or PG_BIN.
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] || die "no PostgreSQL server found (apt-get install postgresql) or set PG_BIN"
  echo "$dir"
}

ensure_installed() {
  [ -n "${PG_BIN:-}" ] && return
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && return
  install_debian_package postgresql "set PG_BIN to a PostgreSQL server's bin directory"
}

psql_tcp() {
  PGPASSWORD="$(cat "$PASSWORD_FILE")" PGCONNECT_TIMEOUT=5 "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" "$@"
}

is_ready() { [ -s "$PASSWORD_FILE" ] && psql_tcp -d postgres -tAc 'select 1' >/dev/null 2>&1; }

init_cluster() {
  [ -s "$DATA_DIR/PG_VERSION" ] && [ -s "$PASSWORD_FILE" ] && return
  rm -rf "$CLUSTER_DIR"
  mkdir -p "$CLUSTER_DIR/socket"
  umask 077
  python3 -c 'import secrets; print(secrets.token_hex(16))' >"$PASSWORD_FILE"
  umask 022
  local pwfile="$CLUSTER_DIR/initdb.pw"
  cp "$PASSWORD_FILE" "$pwfile"
  if [ "$(id -u)" = 0 ]; then
    chown -R "$PG_OS_USER:" "$CLUSTER_DIR"
    chmod 755 "$PG_BASE_DIR"
  fi
  log "initialising a cluster in $DATA_DIR"
  run_as "$PG_OS_USER" "$(pg_bin)/initdb" -D "$DATA_DIR" -U "$PG_ROLE" --pwfile="$pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >"$CLUSTER_DIR/initdb.log" 2>&1 \
    || { rm -f "$pwfile"; tail -n 20 "$CLUSTER_DIR/initdb.log" >&2; die "initdb failed"; }
  rm -f "$pwfile"
}

start() {
  if is_ready; then log "already running on 127.0.0.1:$PG_PORT (reused)"; return; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
    die "port $PG_PORT is taken by something this script cannot log in to"
  fi
  ensure_installed
  ensure_system_user "$PG_OS_USER" "$PG_BASE_DIR"
  mkdir -p "$PG_BASE_DIR"
  init_cluster
  log "starting $(basename "$(dirname "$(pg_bin)")") from $DATA_DIR"
  # Settings for a throw-away test cluster: durability traded for speed, enough connections
  # for a scheduler, an API server, a DAG processor, a triggerer and their task processes.
  run_as "$PG_OS_USER" "$(pg_bin)/pg_ctl" -D "$DATA_DIR" -l "$CLUSTER_DIR/server.log" -w -t 60 start -o \
    "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$CLUSTER_DIR/socket \
     -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null \
    || { tail -n 30 "$CLUSTER_DIR/server.log" >&2; die "start failed (see $CLUSTER_DIR/server.log)"; }
  is_ready || die "started, but the role $PG_ROLE cannot log in over TCP"
  log "ready on 127.0.0.1:$PG_PORT"
}

stop() {
  if [ ! -s "$DATA_DIR/postmaster.pid" ]; then log "not running"; return; fi
  log "stopping"
  run_as "$PG_OS_USER" "$(pg_bin)/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >/dev/null
  log "stopped"
}

status() {
  if is_ready; then log "running on 127.0.0.1:$PG_PORT (cluster $DATA_DIR)"; else log "not running"; return 3; fi
}

database_name() {
  [[ "${1:-}" =~ ^[a-z_][a-z0-9_]*$ ]] || die "a database name of lower-case letters, digits and _ is needed, got '${1:-}'"
  echo "$1"
}

url() {
  local db prefix="${2:-}"; db=$(database_name "${1:-airflow}")
  [[ "$prefix" =~ ^([a-z]+\+)?$ ]] || die "a scheme prefix such as db+ is needed, got '$prefix'"
  [ -s "$PASSWORD_FILE" ] || die "no cluster on port $PG_PORT yet: run '$0 start'"
  # No newline: Airflow takes a `_CMD` setting's output as it is.
  printf '%s' "${prefix}postgresql+psycopg2://$PG_ROLE:$(cat "$PASSWORD_FILE")@127.0.0.1:$PG_PORT/$db"
}

createdb() {
  local db; db=$(database_name "${1:-}")
  if [ "$(psql_tcp -d postgres -tAc "select 1 from pg_database where datname = '$db'")" = 1 ]; then
    log "database $db exists"; return
  fi
  psql_tcp -d postgres -c "create database $db"
  log "created database $db"
}

dropdb() {
  local db; db=$(database_name "${1:-}")
  psql_tcp -d postgres -c "drop database if exists $db with (force)"
  log "dropped database $db"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) url "${2:-}" "${3:-}" ;;
  createdb) createdb "${2:-}" ;;
  dropdb) dropdb "${2:-}" ;;
  *) echo "usage: $0 start|stop|status|url [DB [PREFIX]]|createdb DB|dropdb DB   (env: PG_PORT, PG_BASE_DIR, PG_BIN)" >&2; exit 2 ;;
esac
