#!/usr/bin/env bash
# Browser tests drive the system's Chromium (Debian's package): browser downloads do not work here.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
echo "Installing Debian's chromium for the browser tests…" >&2
if [ "$(id -u)" = 0 ]; then
  apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y chromium >/dev/null
else
  sudo -n apt-get -qq update && sudo -n DEBIAN_FRONTEND=noninteractive apt-get -qq install -y chromium >/dev/null
fi
command -v chromium >/dev/null
