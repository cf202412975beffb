# A private, throw-away PostgreSQL server for the pipeline tests (sourced, not run).
#
#   source scripts/postgres.sh
#   pg_start            # exports PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE TAP_DATA365_TEST_PG_URL
#   trap pg_stop EXIT
#
# The cluster lives in a temporary directory, listens on 127.0.0.1 only, on a free port, with a
# random password, and is deleted by pg_stop. When the server binaries are missing and we are
# root on Debian/Ubuntu, the distribution's `postgresql` package is installed first.
# PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` OS user.

PG_DIR=""
PG_BIN=""
PG_OWNER=""

_pg_find_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && { echo "$dir"; return 0; }
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

_pg_install() {
    [[ "$(id -u)" == 0 ]] || die "PostgreSQL server binaries not found; install the 'postgresql' package (or run as root)"
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL server binaries not found and apt-get is unavailable"
    say "installing PostgreSQL (Debian package 'postgresql')"
    # No default cluster (nothing left running on port 5432): the tests start their own. A
    # drop-in, read by the package's createcluster.conf, so no packaged file is changed.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/tap-data365-tests.conf
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql \
        >/dev/null
}

# Run a command as the cluster owner.
_pg_as_owner() {
    if [[ "$PG_OWNER" == "$(id -un)" ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$PG_OWNER" -- "$@"
    else
        su -s /bin/sh "$PG_OWNER" -c "$(printf '%q ' "$@")"
    fi
}

_pg_free_port() {
    "$(find_python)" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
    PG_BIN="$(_pg_find_bin)" || { _pg_install; PG_BIN="$(_pg_find_bin)"; } \
        || die "PostgreSQL server binaries still not found after installing"
    if [[ "$(id -u)" == 0 ]]; then
        PG_OWNER=postgres
        id -u "$PG_OWNER" >/dev/null 2>&1 \
            || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$PG_OWNER"
    else
        PG_OWNER="$(id -un)"
    fi
    PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/data365-pg.XXXXXX")"
    chmod 700 "$PG_DIR"
    local password port
    password="$("$(find_python)" -c 'import secrets; print(secrets.token_hex(16))')"
    echo "$password" >"$PG_DIR/pwfile"
    mkdir "$PG_DIR/data" "$PG_DIR/run"
    [[ "$PG_OWNER" == "$(id -un)" ]] || chown -R "$PG_OWNER" "$PG_DIR"
    _pg_as_owner "$PG_BIN/initdb" --pgdata="$PG_DIR/data" --username=data365 \
        --pwfile="$PG_DIR/pwfile" --auth-host=scram-sha-256 --auth-local=scram-sha-256 \
        --encoding=UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
        || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    rm -f "$PG_DIR/pwfile"
    port="$(_pg_free_port)"
    # -w waits until the server accepts connections (pg_ctl's own readiness check).
    _pg_as_owner "$PG_BIN/pg_ctl" --pgdata="$PG_DIR/data" --log="$PG_DIR/server.log" --wait \
        --timeout=60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR/run -c fsync=off" \
        start >/dev/null \
        || { cat "$PG_DIR/server.log" >&2; die "PostgreSQL did not start"; }
    export PGHOST=127.0.0.1 PGPORT="$port" PGUSER=data365 PGPASSWORD="$password"
    export PGDATABASE=data365
    PGDATABASE=postgres "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE data365" >/dev/null
    export TAP_DATA365_TEST_PG_URL="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE"
    say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $PG_DIR)"
}

pg_stop() {
    [[ -n "$PG_DIR" && -d "$PG_DIR" ]] || return 0
    if [[ -f "$PG_DIR/data/postmaster.pid" ]]; then
        _pg_as_owner "$PG_BIN/pg_ctl" --pgdata="$PG_DIR/data" --mode=fast --wait stop >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_DIR"
    PG_DIR=""
}
