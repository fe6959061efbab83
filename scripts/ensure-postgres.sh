#!/usr/bin/env bash
# Make a local PostgreSQL ready for the test suite and print its DATABASE_URL on stdout.
# Idempotent: installs the Debian package if missing, starts the cluster, creates (or updates) a
# role with a password and CREATEDB (pytest-django creates test_<name>), and its database.
# Everything but the URL goes to stderr, so `DATABASE_URL=$(bash scripts/ensure-postgres.sh)` works.
set -euo pipefail

PG_ROLE=${DIGITS_PG_ROLE:-digits}
PG_PASSWORD=${DIGITS_PG_PASSWORD:-digits-local-test-only}
PG_DB=${DIGITS_PG_DB:-digits}

if ! command -v pg_lsclusters >/dev/null 2>&1; then
    echo "Installing PostgreSQL..." >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

cluster=$(pg_lsclusters --no-header | head -n 1)
if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    pg_createcluster "$version" main >&2
    cluster=$(pg_lsclusters --no-header | head -n 1)
fi
read -r version name port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
    pg_ctlcluster "$version" "$name" start >&2
fi
for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.2
done
pg_isready -h 127.0.0.1 -p "$port" >&2

as_postgres() { runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qtA "$@"; }

if [ "$(as_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != "1" ]; then
    as_postgres -c "CREATE ROLE \"$PG_ROLE\" LOGIN" >&2
fi
as_postgres -c "ALTER ROLE \"$PG_ROLE\" WITH LOGIN CREATEDB PASSWORD '$PG_PASSWORD'" >&2
if [ "$(as_postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
    as_postgres -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_ROLE\"" >&2
fi

echo "postgres://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$port/$PG_DB"
