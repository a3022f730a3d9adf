#!/usr/bin/env bash
# Installs PostgreSQL on a clean Debian machine if it is missing, starts a
# throwaway server listening on 127.0.0.1 only, creates a database for the
# store and audit tests, and prints its URL (the only line on stdout):
#
#   export PREFLIGHT_TEST_POSTGRES=$(.ci/postgres.sh)
#   go test ./store ./audit
#   .ci/postgres.sh stop
#
# PREFLIGHT_PG_DIR (default /tmp/preflight-postgres) holds the cluster and
# PREFLIGHT_PG_PORT is its port: 55432 by default, since installing the
# package may start Debian's own cluster on 5432. Running it again while the
# server is up only prints the URL.
set -euo pipefail

dir=${PREFLIGHT_PG_DIR:-/tmp/preflight-postgres}
port=${PREFLIGHT_PG_PORT:-55432}
user=preflight
password=preflight
db=preflight_test
url="postgres://$user:$password@127.0.0.1:$port/$db?sslmode=disable"

log() { echo "postgres.sh: $*" >&2; }

# As root, the server runs as the postgres user the package creates.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$d" ]; then log "no PostgreSQL under /usr/lib/postgresql"; exit 1; fi
  echo "$d"
}

if [ "${1:-}" = stop ]; then
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >&2
  fi
  exit 0
fi

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  log "installing postgresql"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
fi
bin=$(bindir)

if [ ! -f "$dir/data/PG_VERSION" ]; then
  log "creating a cluster in $dir/data"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  pwfile="$dir/pw"
  echo "$password" >"$pwfile"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pwfile"; fi
  as_owner "$bin/initdb" -D "$dir/data" -U "$user" --pwfile="$pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 >&2
  rm -f "$pwfile"
fi

if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  log "starting on 127.0.0.1:$port"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir" start >&2
fi

if ! PGPASSWORD=$password "$bin/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  PGPASSWORD=$password "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" "$db" >&2
fi

echo "$url"
