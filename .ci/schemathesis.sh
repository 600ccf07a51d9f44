#!/usr/bin/env bash
# The API conformance run: schemathesis (from PyPI) against the server on a fresh
# SQLite database, once as a signed-in user and once with an admin API key, every
# check over the examples, coverage and fuzzing phases. Sign-out and account
# deletion are left out: they end the credentials the run uses.
#
# Usage: bash .ci/schemathesis.sh   (builds `api`; SCHEMATHESIS_MAX_EXAMPLES=N to vary)
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
venv="${SCHEMATHESIS_VENV:-$target/schemathesis-venv}"
if [[ ! -x "$venv/bin/schemathesis" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "schemathesis>=4.32,<5"
fi

cargo build -q -p api
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
export APP_ENV=test DATABASE_URL="sqlite://$work/api.db?mode=rwc" PORT=$port \
    APP__DATABASE__AUTO_MIGRATE=true APP__LOG__FILTER=error \
    APP__SECRETS__GENERATED_KEY_FILE="$work/secrets.key"
"$target/debug/api" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    curl -sf "$base/health" >/dev/null && break
    sleep 0.1
done
curl -sf "$base/health" >/dev/null || { echo "the server did not start:"; cat "$work/server.log"; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
post() { curl -sf -X POST "$base$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }
token=$(post /v1/auth/sign-up '{"email":"fuzz@example.com","password":"correct horse battery","firstName":"Fuzz","lastName":"Er","type":"organization"}' | json "['token']")
org=$(post /v1/organizations '{"name":"Fuzz Inc"}' -H "authorization: Bearer $token" | json "['id']")
key=$(post "/v1/organizations/$org/api-keys" '{"name":"fuzz","role":"admin"}' -H "authorization: Bearer $token" | json "['key']")

run() {
    GROUNDWORK_TOKEN=$1 "$venv/bin/schemathesis" --config-file .ci/schemathesis.toml \
        run "$base/openapi.json" \
        --checks all --phases examples,coverage,fuzzing \
        --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
        --exclude-operation-id sign_out --exclude-operation-id delete_me \
        --generation-deterministic --no-color
}
status=0
echo "== schemathesis as a signed-in user"
run "$token" || status=1
echo "== schemathesis with an admin API key"
run "$key" || status=1
if grep -q "panicked" "$work/server.log"; then
    echo "the server panicked:"; grep -A3 panicked "$work/server.log"; status=1
fi
exit $status
