# Sourced by the scripts of services and tools that come from Debian's packages (postgres.sh,
# redis.sh, chromium.sh): installs one when it is missing and the caller is root.

# install_debian_package PACKAGE HINT: apt-get install PACKAGE (an `apt-get update` first only if
# the install fails); without root or apt-get, die with HINT (what else the user can do).
install_debian_package() {
  local package="$1" hint="$2"
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "$package is not installed: apt-get install $package, or $hint"
  log "installing Debian's $package package"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null; } \
    || die "apt-get could not install $package"
}
