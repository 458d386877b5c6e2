#!/usr/bin/env bash
# Installs the headless browser the HTML report test drives (Debian's `chromium`, used through
# playwright-core with executablePath /usr/bin/chromium). Idempotent: does nothing when
# /usr/bin/chromium is already there. Playwright's own browser download is not used on purpose:
# only Debian's packages and npm are reachable from the project's machines.
set -euo pipefail

BROWSER=/usr/bin/chromium

if [ -x "$BROWSER" ]; then
  echo "install-browser: $BROWSER already installed ($("$BROWSER" --version 2>/dev/null || echo 'version unknown')); nothing to do"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=sudo
  else
    echo "install-browser: $BROWSER is missing and this is not root; run as root: apt-get update && apt-get install -y chromium" >&2
    exit 1
  fi
else
  SUDO=
fi

echo "install-browser: $BROWSER is missing; installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
echo "install-browser: installed $("$BROWSER" --version 2>/dev/null || echo "$BROWSER")"
