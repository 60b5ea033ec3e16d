#!/usr/bin/env bash
# Install the browser the Playwright tests drive (tests/browser): Debian's chromium at /usr/bin/chromium.
# Idempotent and quiet: does nothing when it is already there. Never runs `playwright install`
# (its own browser build cannot be downloaded here; see shared/BROWSER_TESTS.md).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
. "$(dirname "$0")/apt_install.sh"
apt_install install_browser.sh chromium "$CHROMIUM is missing (the browser tests fail without it)"
if [ ! -x "$CHROMIUM" ]; then
    echo "install_browser.sh: chromium was installed but $CHROMIUM is not there." >&2
    exit 1
fi
