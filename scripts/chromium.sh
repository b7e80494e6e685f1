#!/usr/bin/env bash
# The headless browser of the task-health page's tests (tests/e2e/test_health_view_live.py):
# Debian's `chromium` package, driven by Playwright (requirements-dev.txt) with no browser
# download. install | path. `install` is a no-op when $CHROMIUM (default /usr/bin/chromium) runs.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
log() { printf '[chromium] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install() {
  "$CHROMIUM" --version >/dev/null 2>&1 && return
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "no Chromium at $CHROMIUM: apt-get install chromium, or set CHROMIUM"
  log "installing Debian's chromium package"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    || die "apt-get could not install chromium"
  "$CHROMIUM" --version >&2
}

case "${1:-}" in
  install) install ;;
  path) echo "$CHROMIUM" ;;
  *) echo "usage: $0 install|path" >&2; exit 2 ;;
esac
