#!/usr/bin/env bash
# Start (installing if missing) the machine's PostgreSQL 15 and create Hallmark's role and database.
# Usage: deploy/postgres.sh start|stop|status
set -euo pipefail

VERSION=15
CLUSTER=main
ROLE=${HALLMARK_PG_USER:-hallmark}
PASSWORD=${HALLMARK_PG_PASSWORD:-hallmark}
DBNAME=${HALLMARK_PG_DBNAME:-hallmark}
PORT=${HALLMARK_PG_PORT:-5432}
BIN=/usr/lib/postgresql/$VERSION/bin

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_if_missing() {
  if [ ! -x "$BIN/postgres" ]; then
    echo "postgres: PostgreSQL $VERSION is not installed; installing the Debian package" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$VERSION" >/dev/null
  fi
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
    echo "postgres: creating cluster $VERSION/$CLUSTER on port $PORT" >&2
    as_root pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >/dev/null
  fi
}

start() {
  install_if_missing
  if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
    as_root pg_ctlcluster "$VERSION" "$CLUSTER" start
  fi
  for _ in $(seq 1 60); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then break; fi
    sleep 0.5
  done
  pg_isready -h 127.0.0.1 -p "$PORT" >/dev/null || {
    echo "postgres: not accepting connections on 127.0.0.1:$PORT; see /var/log/postgresql/postgresql-$VERSION-$CLUSTER.log" >&2
    exit 1
  }
  as_postgres psql -q -p "$PORT" -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD' CREATEDB;
  END IF;
END \$\$;
SQL
  if ! as_postgres psql -p "$PORT" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'" | grep -q 1; then
    as_postgres createdb -p "$PORT" -O "$ROLE" "$DBNAME"
  fi
  echo "postgres: ready on 127.0.0.1:$PORT, database $DBNAME, role $ROLE" >&2
}

case "${1:-start}" in
  start) start ;;
  stop) as_root pg_ctlcluster "$VERSION" "$CLUSTER" stop || true ;;
  status) pg_isready -h 127.0.0.1 -p "$PORT" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
