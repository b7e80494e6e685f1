# Sourced by the service scripts (elasticsearch.sh, postgres.sh): servers that refuse to run as
# root run, under root, as a system user of their own; anyone else runs them as themselves.

# ensure_system_user USER HOME: create USER (no login, no home created) when running as root.
ensure_system_user() {
  [ "$(id -u)" = 0 ] || return 0
  id -u "$1" >/dev/null 2>&1 && return 0
  log "creating system user $1"
  useradd --system --no-create-home --home-dir "$2" --shell /usr/sbin/nologin "$1"
}

# run_as USER COMMAND...: COMMAND as USER when running as root, else as the caller.
run_as() {
  local user="$1"; shift
  if [ "$(id -u)" != 0 ]; then "$@"; return; fi
  # util-linux's runuser lives in /usr/sbin, which a minimal root PATH may lack.
  local runuser
  runuser="$(PATH="$PATH:/usr/sbin:/sbin" command -v runuser)" || die "runuser (util-linux) not found: needed to run as $user"
  "$runuser" -u "$user" -- "$@"
}
