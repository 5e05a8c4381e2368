#!/usr/bin/env bash
# CI: make sure a PostgreSQL answers at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# and lets its user in without a password (trust for 127.0.0.1), as the tests expect. Idempotent: run it
# twice and the second run only says which PostgreSQL it uses. Called by .ci/run; runnable alone.
#   1. one already answers and lets us in  -> use it
#   2. else install `postgresql` with apt when no server binaries are there
#   3. a Debian cluster on that port (pg_lsclusters) -> trust 127.0.0.1 in its pg_hba.conf, start it
#      with pg_ctlcluster (or reload it when it runs but asked for a password)
#   4. else initdb (superuser postgres, trust) a cluster in $RAMPART_PG_DIR and start it with pg_ctl,
#      as the postgres user when run as root (PostgreSQL refuses to run as root)
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DIR="${RAMPART_PG_DIR:-/tmp/rampart-ci-pg}"
probe() { node scripts/lib/pg-probe.mjs "$PG_URL" 2>/dev/null; }
say() { echo "ci: $*"; }

if probe; then
  say "using the PostgreSQL that answers at $PG_URL (already running)"
  exit 0
fi
why="$(node scripts/lib/pg-probe.mjs "$PG_URL" 2>&1 || true)"
say "no usable PostgreSQL: $why"

read -r PG_HOST PG_PORT < <(node -e 'const u = new URL(process.argv[1]); console.log(u.hostname || "127.0.0.1", u.port || 5432)' "$PG_URL")
case "$PG_HOST" in
  127.0.0.1 | localhost) ;;
  *) say "DATABASE_URL points at $PG_HOST, not this machine: cannot start it from here"; exit 1 ;;
esac

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bindir)" ]; then
  say "installing postgresql (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(pg_bindir)"
[ -n "$BIN" ] || { say "no PostgreSQL server binaries under /usr/lib/postgresql after installing"; exit 1; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
wait_for_probe() {
  for _ in $(seq 1 100); do probe && return 0; sleep 0.2; done
  return 1
}
trust_line="host all all 127.0.0.1/32 trust"

# A Debian cluster (the package makes 15/main or similar on install) on the wanted port?
cluster=""
if command -v pg_lsclusters >/dev/null 2>&1; then
  cluster="$(pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1 " " $2 " " $4; exit }')"
fi
if [ -n "$cluster" ]; then
  read -r ver name status <<<"$cluster"
  hba="/etc/postgresql/$ver/$name/pg_hba.conf"
  if ! grep -qxF "$trust_line" "$hba"; then
    # First matching line wins in pg_hba.conf: put the trust line first.
    sed -i "1i $trust_line" "$hba"
    say "added '$trust_line' to $hba"
  fi
  if [ "$status" = online ]; then
    pg_ctlcluster "$ver" "$name" reload
    say "reloaded PostgreSQL cluster $ver/$name (pg_ctlcluster) on port $PG_PORT"
  else
    pg_ctlcluster "$ver" "$name" start
    say "started PostgreSQL cluster $ver/$name (pg_ctlcluster) on port $PG_PORT"
  fi
else
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    mkdir -p "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
    chmod 700 "$PG_DIR"
    as_postgres "$BIN/initdb" -D "$PG_DIR" -U postgres -A trust --no-sync >/dev/null
    say "initdb: new cluster in $PG_DIR (superuser postgres, trust)"
  fi
  if as_postgres "$BIN/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
    say "a PostgreSQL of $PG_DIR is running but does not answer at $PG_URL; restarting it on port $PG_PORT"
    as_postgres "$BIN/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null
  fi
  as_postgres "$BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/postgres.log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR" start >/dev/null
  say "started PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') with initdb + pg_ctl in $PG_DIR on port $PG_PORT"
fi

if ! wait_for_probe; then
  say "PostgreSQL still does not let us in at $PG_URL: $(node scripts/lib/pg-probe.mjs "$PG_URL" 2>&1 || true)"
  exit 1
fi
say "PostgreSQL answers at $PG_URL"
