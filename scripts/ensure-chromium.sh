#!/usr/bin/env bash
# The browser tests (tests/e2e) drive Debian's Chromium through Playwright: `playwright install`
# cannot download browsers here. Installs it when missing, so reruns stay fast.
set -euo pipefail
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
fi

