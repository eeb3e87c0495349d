#!/usr/bin/env bash
# The browser tests drive Debian's Chromium; install the package when it is missing (needs root).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "Chromium is missing: install Debian's 'chromium' package (the browser tests need /usr/bin/chromium)" >&2
  exit 1
fi
echo "installing Debian's chromium package for the browser tests" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
