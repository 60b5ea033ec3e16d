#!/usr/bin/env bash
# Install the PostgreSQL server the store tests start (tests/pg_server.py): Debian's `postgresql` package,
# whose initdb/pg_ctl the tests run in a temporary directory as the `postgres` system user it creates.
# Idempotent and quiet: does nothing when initdb and the postgres user are already there.
# The package's own cluster service is not needed (the tests start their own server on loopback).
set -euo pipefail

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && id postgres >/dev/null 2>&1; then
    exit 0
fi
. "$(dirname "$0")/apt_install.sh"
apt_install install_postgres.sh postgresql "PostgreSQL is missing (the PostgreSQL store tests fail without it)"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "install_postgres.sh: postgresql was installed but no initdb is under /usr/lib/postgresql." >&2
    exit 1
fi
