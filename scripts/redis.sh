# A private, throw-away Redis server for the tests of the Celery job (sourced, not run).
#
#   source scripts/redis.sh
#   redis_start         # exports TAP_DATA365_TEST_REDIS_URL (redis://127.0.0.1:PORT)
#   trap redis_stop EXIT
#
# Listens on 127.0.0.1 only, on a free port, keeps nothing on disk, and is stopped (its
# folder deleted) by redis_stop. When `redis-server` is missing and we are root on
# Debian/Ubuntu, the distribution's `redis-server` package is installed first (its own
# service is not what the tests use: they start theirs).

REDIS_DIR=""

_redis_install() {
    [[ "$(id -u)" == 0 ]] || die "redis-server not found; install the 'redis-server' package (or run as root)"
    command -v apt-get >/dev/null 2>&1 || die "redis-server not found and apt-get is unavailable"
    say "installing Redis (Debian package 'redis-server')"
    apt-get update -qq >/dev/null
    # policy-rc.d: no packaged service started on port 6379 in the install (the tests start
    # their own server); removed right after.
    local policy=/usr/sbin/policy-rc.d created=""
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
        >/dev/null
    [[ -z "$created" ]] || rm -f "$policy"
}

redis_start() {
    command -v redis-server >/dev/null 2>&1 || _redis_install
    command -v redis-server >/dev/null 2>&1 || die "redis-server still not found after installing"
    REDIS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/data365-redis.XXXXXX")"
    local port
    port="$(_redis_free_port)"
    # --daemonize with a pid file: redis-server returns once the server is set up to listen;
    # redis-cli ping then confirms it answers (a readiness check, not a clock).
    redis-server --bind 127.0.0.1 --port "$port" --dir "$REDIS_DIR" --save "" \
        --appendonly no --daemonize yes --pidfile "$REDIS_DIR/redis.pid" \
        --logfile "$REDIS_DIR/redis.log" \
        || { cat "$REDIS_DIR/redis.log" >&2; die "Redis did not start"; }
    local tries=0
    until redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; do
        (( ++tries < 100 )) || { cat "$REDIS_DIR/redis.log" >&2; die "Redis does not answer"; }
        sleep 0.1
    done
    export TAP_DATA365_TEST_REDIS_URL="redis://127.0.0.1:$port"
    say "Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:$port"
}

_redis_free_port() {
    "$(find_python)" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

redis_stop() {
    [[ -n "$REDIS_DIR" && -d "$REDIS_DIR" ]] || return 0
    if [[ -f "$REDIS_DIR/redis.pid" ]]; then
        kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true
    fi
    rm -rf "$REDIS_DIR"
    REDIS_DIR=""
}
