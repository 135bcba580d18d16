# Sourced by `make test`: exports DATABASE_URL and REDIS_URL pointing at servers that answer.
# It uses the ones given (or the usual local ports); where none answer, it installs Debian's
# packages if needed and starts private servers under .services/. It never skips: if no server
# can be had, it fails.

: "${DATABASE_URL:=postgres://postgres@127.0.0.1:5432/layerwatch}"
: "${REDIS_URL:=redis://127.0.0.1:6379/15}"
SERVICES_DIR="$PWD/.services"
PY=.venv/bin/python

_pg_ok() { $PY -c "import psycopg,sys; psycopg.connect(sys.argv[1].rsplit('/',1)[0]+'/postgres', connect_timeout=3).close()" "$1" 2>/dev/null; }
_redis_ok() { $PY -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()" "$1" 2>/dev/null; }
_apt() { (command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] && apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y "$@" >/dev/null || sudo -n apt-get -qq install -y "$@"; }) ; }
_as_pg_user() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

_private_postgres() {
  local private=postgres://postgres@127.0.0.1:55432/layerwatch
  if _pg_ok "$private"; then DATABASE_URL=$private; return 0; fi  # started by an earlier run
  local bindir; bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bindir" ]; then _apt postgresql || return 1; bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); fi
  local data="$SERVICES_DIR/pg"
  mkdir -p "$SERVICES_DIR"
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"; [ "$(id -u)" = 0 ] && chown -R postgres "$data"
    _as_pg_user "$bindir/initdb" -D "$data" -U postgres -A trust >/dev/null || return 1
  fi
  [ "$(id -u)" = 0 ] && chown -R postgres "$data"
  _as_pg_user "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -o "-p 55432 -k $data -c listen_addresses=127.0.0.1" start >/dev/null || return 1
  DATABASE_URL=$private
}

_private_redis() {
  local private=redis://127.0.0.1:56379/15
  if _redis_ok "$private"; then REDIS_URL=$private; return 0; fi
  command -v redis-server >/dev/null || _apt redis-server || return 1
  mkdir -p "$SERVICES_DIR/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 56379 --save "" --appendonly no \
    --dir "$SERVICES_DIR/redis" --logfile "$SERVICES_DIR/redis/redis.log" >/dev/null || return 1
  sleep 0.5
  REDIS_URL=$private
}

if ! _pg_ok "$DATABASE_URL"; then
  echo "PostgreSQL at $DATABASE_URL does not answer; starting a private one in $SERVICES_DIR" >&2
  _private_postgres && _pg_ok "$DATABASE_URL" || { echo "FAILED: no PostgreSQL available" >&2; return 1 2>/dev/null || exit 1; }
fi
if ! _redis_ok "$REDIS_URL"; then
  echo "Redis at $REDIS_URL does not answer; starting a private one in $SERVICES_DIR" >&2
  _private_redis && _redis_ok "$REDIS_URL" || { echo "FAILED: no Redis available" >&2; return 1 2>/dev/null || exit 1; }
fi
export DATABASE_URL REDIS_URL
echo "Tests use PostgreSQL at $DATABASE_URL and Redis at $REDIS_URL" >&2
