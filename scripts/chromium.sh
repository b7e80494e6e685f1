#!/usr/bin/env bash
# The headless browser of the task-health page's tests (tests/e2e/test_health_view_live.py):
# Debian's `chromium` package, driven by Playwright (requirements-dev.txt) with no browser
# download. install | path. `install` is a no-op when $CHROMIUM (default /usr/bin/chromium) runs.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
log() { printf '[chromium] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=lib/debian_package.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian_package.sh"

install() {
  "$CHROMIUM" --version >/dev/null 2>&1 && return
  install_debian_package chromium "set CHROMIUM to a Chromium binary"
  "$CHROMIUM" --version >&2
}

case "${1:-}" in
  install) install ;;
  path) echo "$CHROMIUM" ;;
  *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
