#!/usr/bin/env bash
# Local Elasticsearch for development and tests: fetch | start | stop | status.
#
# Elastic's download site is unreachable here and there is no Docker engine, so the server is
# the integration-test distribution from Maven Central. It has no bundled JDK (ES_JAVA_HOME
# must point at JDK 21+) and refuses to run as root: as root we create a system user and
# start it through runuser. Everything lives outside the repository:
#   ES_CACHE_DIR   downloaded zip            (default ~/.cache/airflow-anomaly/elasticsearch)
#   ES_BASE_DIR    unpacked server + nodes   (root: /var/lib/airflow-anomaly-es,
#                                             others: ~/.local/share/airflow-anomaly-es)
# One node per port: $ES_BASE_DIR/nodes/<port>/{config,data,logs,elasticsearch.pid}.
# `start` reuses a healthy node already answering on the port; `stop` waits for the port to close.
set -euo pipefail

ES_VERSION="${ES_VERSION:-8.19.21}"
ES_PORT="${ES_PORT:-9200}"
ES_HEAP="${ES_HEAP:-512m}"
ES_USER="${ES_USER:-airflow-anomaly-es}"
ES_START_TIMEOUT="${ES_START_TIMEOUT:-120}"
ES_CACHE_DIR="${ES_CACHE_DIR:-$HOME/.cache/airflow-anomaly/elasticsearch}"
if [ "$(id -u)" = 0 ]; then
  ES_BASE_DIR="${ES_BASE_DIR:-/var/lib/airflow-anomaly-es}"
else
  ES_BASE_DIR="${ES_BASE_DIR:-$HOME/.local/share/airflow-anomaly-es}"
fi
ES_ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip"
ES_ZIP="$ES_CACHE_DIR/elasticsearch-${ES_VERSION}.zip"
ES_HOME="$ES_BASE_DIR/dist/elasticsearch-${ES_VERSION}"
NODE_DIR="$ES_BASE_DIR/nodes/$ES_PORT"
PID_FILE="$NODE_DIR/elasticsearch.pid"
URL="http://127.0.0.1:${ES_PORT}"

log() { printf '[elasticsearch:%s] %s\n' "$ES_PORT" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/system_user.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/system_user.sh"

find_java_home() {
  # A JDK 21+ is required; prefer an explicit ES_JAVA_HOME, then the newest JDK installed.
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  local candidate version
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    [ -x "$candidate/bin/java" ] || continue
    version=$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 \
      | awk -F= '/java.specification.version/ {gsub(/ /, "", $2); print $2}')
    if [ "${version:-0}" -ge 21 ] 2>/dev/null; then echo "$candidate"; return; fi
  done
  die "no JDK 21+ found: install one (e.g. apt-get install openjdk-21-jdk-headless) or set ES_JAVA_HOME"
}

is_healthy() {
  curl -fsS -m 5 "$URL/_cluster/health?wait_for_status=yellow&timeout=3s" >/dev/null 2>&1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$ES_PORT") 2>/dev/null; }

node_pid() {
  [ -s "$PID_FILE" ] || return 1
  local pid; pid=$(cat "$PID_FILE")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

fetch() {
  if [ -s "$ES_ZIP" ]; then log "cached: $ES_ZIP"; return; fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  mkdir -p "$ES_CACHE_DIR"
  log "fetching $ES_ARTIFACT from Maven Central"
  local tmp; tmp=$(mktemp -d)
  if ! mvn -q -B dependency:copy -Dartifact="$ES_ARTIFACT" -DoutputDirectory="$tmp" >"$tmp/mvn.log" 2>&1; then
    cat "$tmp/mvn.log" >&2; rm -rf "$tmp"
    die "could not fetch $ES_ARTIFACT (set ES_VERSION to a version Maven Central serves)"
  fi
  mv "$tmp/elasticsearch-${ES_VERSION}.zip" "$ES_ZIP"
  rm -rf "$tmp"
}

install_dist() {
  [ -x "$ES_HOME/bin/elasticsearch" ] && return
  fetch
  log "unpacking into $ES_HOME"
  mkdir -p "$ES_BASE_DIR/dist"
  local tmp; tmp=$(mktemp -d "$ES_BASE_DIR/dist/.unpack.XXXXXX")
  unzip -q "$ES_ZIP" -d "$tmp"
  mv "$tmp/elasticsearch-${ES_VERSION}" "$ES_HOME"
  rmdir "$tmp"
}

write_node_config() {
  mkdir -p "$NODE_DIR/config/jvm.options.d" "$NODE_DIR/data" "$NODE_DIR/logs" "$NODE_DIR/tmp"
  cp "$ES_HOME/config/jvm.options" "$ES_HOME/config/log4j2.properties" "$NODE_DIR/config/"
  cat >"$NODE_DIR/config/elasticsearch.yml" <<YAML
cluster.name: airflow-anomaly-local
node.name: local-${ES_PORT}
network.host: 127.0.0.1
http.port: ${ES_PORT}
discovery.type: single-node
xpack.security.enabled: false
path.data: ${NODE_DIR}/data
path.logs: ${NODE_DIR}/logs
# A developer machine's disk may be fuller than the production watermarks allow.
cluster.routing.allocation.disk.threshold_enabled: false
YAML
  printf -- '-Xms%s\n-Xmx%s\n' "$ES_HEAP" "$ES_HEAP" >"$NODE_DIR/config/jvm.options.d/heap.options"
}

start() {
  if is_healthy; then log "already running at $URL (reused)"; return; fi
  if port_open; then die "port $ES_PORT is taken by something that is not a healthy Elasticsearch"; fi
  local java_home; java_home=$(find_java_home)
  ensure_system_user "$ES_USER" "$ES_BASE_DIR"
  install_dist
  write_node_config
  rm -f "$PID_FILE"
  if [ "$(id -u)" = 0 ]; then
    chown -R "$ES_USER:" "$ES_BASE_DIR"
    chmod 755 "$ES_BASE_DIR"
  fi
  log "starting $ES_VERSION (heap $ES_HEAP, JDK $java_home, node dir $NODE_DIR)"
  (cd "$NODE_DIR/logs" && run_as "$ES_USER" env -i PATH=/usr/bin:/bin HOME="$NODE_DIR" \
      ES_JAVA_HOME="$java_home" ES_PATH_CONF="$NODE_DIR/config" ES_TMPDIR="$NODE_DIR/tmp" \
      "$ES_HOME/bin/elasticsearch" -d -p "$PID_FILE" >"$NODE_DIR/logs/startup.out" 2>&1) \
    || { tail -n 40 "$NODE_DIR/logs/startup.out" >&2; die "start failed (see $NODE_DIR/logs)"; }
  local waited=0
  until is_healthy; do
    if [ "$waited" -ge "$ES_START_TIMEOUT" ]; then
      tail -n 40 "$NODE_DIR/logs/airflow-anomaly-local.log" >&2 2>/dev/null || true
      die "not healthy after ${ES_START_TIMEOUT}s (logs in $NODE_DIR/logs)"
    fi
    sleep 1; waited=$((waited + 1))
  done
  log "healthy at $URL after ${waited}s"
}

stop() {
  local pid
  if ! pid=$(node_pid); then
    if port_open; then die "port $ES_PORT is open but no node started by this script owns it"; fi
    log "not running"; return
  fi
  log "stopping pid $pid"
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null || port_open; do
    if [ "$waited" -ge 60 ]; then log "still running after 60s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 1; waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  log "stopped"
}

status() {
  if is_healthy; then
    log "running at $URL (pid $(node_pid || echo 'not started by this script'))"
    curl -fsS -m 5 "$URL/_cluster/health?pretty"
  else
    log "not running"; return 3
  fi
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 fetch|start|stop|status   (env: ES_PORT, ES_VERSION, ES_HEAP, ES_JAVA_HOME, ES_BASE_DIR, ES_CACHE_DIR)" >&2; exit 2 ;;
esac
