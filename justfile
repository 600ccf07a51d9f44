# Everyday recipes. `just --list` shows them.

set dotenv-load := false

# Start the server on the embedded SQLite default (127.0.0.1:8080).
run:
    cargo run -p api

# Start the server on PostgreSQL: `just run-pg postgres://user:pass@localhost/groundwork`.
run-pg url:
    DATABASE_URL={{url}} cargo run -p api

# Run the whole test suite (PostgreSQL and SQLite).
test:
    cargo test --workspace

# Apply pending migrations (DATABASE_URL, else the SQLite default).
migrate:
    cargo run -p migration -- up

# Show which migrations are applied.
migrate-status:
    cargo run -p migration -- status

# Roll back the last N migrations (default 1).
migrate-down n="1":
    cargo run -p migration -- down -n {{n}}

# Print the latest outbox emails with their tokens and delivery state (development only).
outbox:
    cargo run -q -p api -- outbox

# Make a user a platform admin: `just promote ada@example.com` (demote: `just demote ...`).
promote email:
    cargo run -q -p api -- admin promote {{email}}

# Take platform admin away from a user.
demote email:
    cargo run -q -p api -- admin demote {{email}}

# Re-encrypt every endpoint secret with secrets.primary (after a key rotation).
rewrap:
    cargo run -q -p api -- secrets rewrap

# Format the code.
fmt:
    cargo fmt --all

# Lints as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run

# Print the effective settings (password masked).
config:
    cargo run -p api -- config

# Seed the database at DATABASE_URL with the benchmarks' dataset (not in production):
# `just seed --users 1000` for a smaller one; writes bench/results/seed-manifest.json.
seed *args:
    cargo run -q -p api -- seed {{args}}

# The benchmark: throwaway PostgreSQL, seed, release server under wrk, pgbench ceiling;
# results in bench/results/latest.{md,json}. `just bench --duration 5s` for a quick run.
bench *args:
    bash bench/run.sh {{args}}

# The API conformance run CI does: schemathesis against the server on SQLite.
conformance:
    bash .ci/schemathesis.sh
