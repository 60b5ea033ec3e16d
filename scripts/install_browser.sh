#!/usr/bin/env bash
# Install the browser the Playwright tests drive (tests/browser): Debian's chromium at /usr/bin/chromium.
# Idempotent and quiet: does nothing when it is already there. Never runs `playwright install`
# (its own browser build cannot be downloaded here; see shared/BROWSER_TESTS.md).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: $CHROMIUM is missing and apt-get is not available; install Chromium by hand" \
         "(the browser tests will be skipped)." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_browser.sh: not root and no sudo: cannot install chromium." >&2
        exit 1
    fi
fi
echo "install_browser.sh: installing chromium (apt-get)..." >&2
# env: sudo resets the environment, so the non-interactive front end is passed explicitly
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
if [ ! -x "$CHROMIUM" ]; then
    echo "install_browser.sh: chromium was installed but $CHROMIUM is not there." >&2
    exit 1
fi
