#!/usr/bin/env bash
# Install the PostgreSQL server the store tests start (tests/pg_server.py): Debian's `postgresql` package,
# whose initdb/pg_ctl the tests run in a temporary directory as the `postgres` system user it creates.
# Idempotent and quiet: does nothing when initdb and the postgres user are already there.
# The package's own cluster service is not needed (the tests start their own server on loopback).
set -euo pipefail

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && id postgres >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_postgres.sh: PostgreSQL is missing and apt-get is not available; install the server by hand" \
         "(the PostgreSQL store tests fail without it)." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_postgres.sh: not root and no sudo: cannot install postgresql." >&2
        exit 1
    fi
fi
echo "install_postgres.sh: installing postgresql (apt-get)..." >&2
# env: sudo resets the environment, so the non-interactive front end is passed explicitly
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "install_postgres.sh: postgresql was installed but no initdb is under /usr/lib/postgresql." >&2
    exit 1
fi
