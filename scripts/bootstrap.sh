#!/usr/bin/env bash
# Make this checkout runnable: system tools the local stack needs, then the Python venv.
# Idempotent and cheap when nothing changed (the venv is rebuilt only when a requirements
# file changes).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

ensure_system_tools() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  command -v unzip >/dev/null || missing+=(unzip)
  command -v mvn >/dev/null || missing+=(maven)
  # Only to check docker-compose.yaml (tests/unit/test_compose.py): `config` needs no engine.
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  ls /usr/lib/jvm/*/bin/java >/dev/null 2>&1 || [ -n "${ES_JAVA_HOME:-}" ] || missing+=(openjdk-21-jdk-headless)
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing system packages: ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

ensure_venv() {
  local stamp="$VENV_DIR/.requirements.sha256" want
  want=$(cat "$PROJECT_ROOT"/requirements.txt "$PROJECT_ROOT"/requirements-dev.txt \
    "$PROJECT_ROOT"/constraints.txt | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  "$PYTHON" -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), sys.version' \
    || { echo "Python 3.11-3.13 is required (datetime.UTC; Airflow 3.3); found $("$PYTHON" --version)" >&2; exit 1; }
  echo "installing Python dependencies into $VENV_DIR (about 3 minutes the first time)" >&2
  [ -x "$VENV_DIR/bin/python" ] || "$PYTHON" -m venv "$VENV_DIR"
  "$VENV_DIR/bin/pip" install -q --disable-pip-version-check \
    -r "$PROJECT_ROOT/requirements-dev.txt" -c "$PROJECT_ROOT/constraints.txt"
  echo "$want" >"$stamp"
}

ensure_system_tools
ensure_venv
