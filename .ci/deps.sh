#!/bin/sh
# Installs the Debian packages lp0 needs to build and test, if any is missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
PKGS="build-essential cmake pkg-config liblua5.4-dev libuv1-dev libcjson-dev \
libcurl4-openssl-dev libsqlite3-dev zlib1g-dev libssl-dev node-llhttp python3"
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
# With --test: what the test suites need besides, i.e. node and npm for the plug tests
# (the npm package tplink-smarthome-simulator), from Debian unless the machine has them
# already (e.g. from NodeSource). Running lp0 needs neither.
if [ "${1:-}" = "--test" ]; then
  command -v node >/dev/null 2>&1 || missing="$missing nodejs"
  command -v npm >/dev/null 2>&1 || missing="$missing npm"
fi
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" = 0 ]; then
  echo "deps: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
else
  echo "deps: missing Debian packages:$missing" >&2
  echo "deps: run as root:  sudo $cmd" >&2
  exit 1
fi
