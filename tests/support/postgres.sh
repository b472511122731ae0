#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for tests or benchmarks, installing the Debian
# package first when the machine has none.   Usage: postgres.sh PORT DATADIR
# Prints the SQLAlchemy URL of its `postgres` database on the last line.
# `postgres.sh stop DATADIR` stops the server started on DATADIR.
set -euo pipefail
port="$1"; data="$2"

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  echo "installing PostgreSQL (Debian package)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >/dev/null
fi
bin="$(pg_bin)"
run_as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
    su postgres -s /bin/sh -c "$1"
  else
    sh -c "$1"
  fi
}
if [ "$port" = stop ]; then
  run_as_postgres "$(pg_bin)/pg_ctl -D $data -m fast stop >/dev/null"
  exit 0
fi
mkdir -p "$data"
[ "$(id -u)" = 0 ] && chown postgres "$data"
[ -f "$data/PG_VERSION" ] || run_as_postgres "$bin/initdb -D $data -A trust -U postgres >/dev/null"
run_as_postgres "$bin/pg_ctl -D $data -l $data/server.log -w -o '-p $port -k /tmp \
  -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' start >/dev/null"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on port $port" >&2
echo "postgresql+asyncpg://postgres@127.0.0.1:${port}/postgres"
