# Throwaway PostgreSQL for the benchmark, as the test harness starts one
# (tests/src/postgres.rs): initdb into a fresh directory under /tmp, trust
# auth on 127.0.0.1, durability off, run as the `postgres` user when root.
# Sourced by run.sh; `pg_start` sets PG_DIR, PG_PORT and PG_URL; `pg_stop`
# stops the server and deletes the directory (run.sh calls it from its trap).

pg_bin_dir() {
    local dir
    for dir in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null)" \
               $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# Runs a PostgreSQL binary, as `postgres` when we are root (it refuses root).
pg_run() {
    local program="$PG_BIN/$1"
    shift
    if [[ $(id -u) -eq 0 ]]; then
        (cd "$PG_DIR" && runuser -u postgres -- "$program" "$@")
    else
        (cd "$PG_DIR" && "$program" "$@")
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

# pg_start SHARED_BUFFERS MAX_CONNECTIONS
pg_start() {
    PG_BIN=$(pg_bin_dir) || {
        echo "no PostgreSQL server binaries: apt-get install postgresql" >&2
        return 1
    }
    PG_DIR=$(mktemp -d /tmp/groundwork-bench-pg.XXXXXX)
    mkdir -p "$PG_DIR/sock"
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres:postgres "$PG_DIR"
    fi
    pg_run initdb -D "$PG_DIR/data" --auth=trust -U postgres --encoding=UTF8 \
        --locale=C --no-sync --no-instructions >"$PG_DIR/initdb.log" 2>&1 || {
        cat "$PG_DIR/initdb.log" >&2
        return 1
    }
    # A throwaway server: durability buys nothing. shared_buffers holds the
    # whole dataset (about 150 MB), as a production server's cache would.
    cat >>"$PG_DIR/data/postgresql.conf" <<CONF
# groundwork benchmark: a throwaway server
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = ${1:-256MB}
max_connections = ${2:-100}
log_min_messages = warning
CONF
    local attempt
    for attempt in 1 2 3 4 5; do
        PG_PORT=$(free_port)
        if pg_run pg_ctl -D "$PG_DIR/data" -l "$PG_DIR/server.log" -o "-p $PG_PORT" \
            -w -t 60 start >/dev/null 2>&1; then
            PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
            return 0
        fi
    done
    cat "$PG_DIR/server.log" >&2
    return 1
}

pg_stop() {
    if [[ -n "${PG_DIR:-}" && -d "$PG_DIR" ]]; then
        if [[ -f "$PG_DIR/data/postmaster.pid" ]]; then
            pg_run pg_ctl -D "$PG_DIR/data" stop -m fast -w -t 30 >/dev/null 2>&1 || true
        fi
        rm -rf "$PG_DIR"
    fi
}

# The server's backends' PIDs are children of the postmaster.
pg_postmaster_pid() {
    head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null
}
