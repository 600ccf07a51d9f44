#!/usr/bin/env bash
# Plan check: on a seeded database, EXPLAIN every list and lookup query the
# benchmark knows (bench/sql/*.sql and bench/sql/plans/*.sql, each SELECT or WITH
# line) both as the custom plan PostgreSQL makes for the actual values and as
# the generic plan it may switch to for a prepared statement (sqlx prepares
# every statement). Prints each plan's node types; fails when a plan reads
# users, organization_members, sessions, api_keys or invitations with a
# sequential scan, unless its file says `-- plan-check: seq-scan-allowed` and
# why (none does since the deep OFFSET page picks its rows by key on an index).
#
#   bench/plans.sh DATABASE_URL MANIFEST_JSON [OUT_JSON]
set -euo pipefail
cd "$(dirname "$0")/.."

url=$1
manifest=$2
out=${3:-}
guarded='^(users|organization_members|sessions|api_keys|invitations)$'

m() { jq -r ".manifest.sql.$1" "$manifest"; }
declare -A value=(
    [token_hash]=$(m tokenHash)
    [organization_id]=$(m organizationId)
    [user_id]=$(m userId)
    [u_id]=$(m userId)
    [cursor_at]=$(m cursorCreatedAt)
    [cursor_id]=$(m cursorMemberId)
    [deep_offset]=$(jq -r '.manifest.deep.rows' "$manifest")
    [api_key_prefix]=$(m apiKeyPrefix)
    [email]=$(m email)
    [n]=0
    [one]=1
    [zero]=0
    [page_limit]=11
    [page_limit_20]=21
    [now]=$(date -u +%Y-%m-%dT%H:%M:%SZ)
)

# One statement with :name variables -> PREPARE/EXPLAIN EXECUTE under both
# plan cache modes; prints two JSON plans, one per line.
explain() {
    local sql=$1 names name i=0 args=()
    # Distinct variables in order of first use; `::type` casts are not variables.
    mapfile -t names < <(grep -oP '(?<![:\w]):\K[a-z_][a-z0-9_]*\b' <<<"$sql" | awk '!seen[$0]++')
    for name in "${names[@]}"; do
        i=$((i + 1))
        sql=$(perl -pe "s/(?<![:\\w]):\\Q$name\\E\\b/\\\$$i/g" <<<"$sql")
        [[ -v "value[$name]" ]] || { echo "plans.sh: no value for :$name" >&2; return 1; }
        args+=("'${value[$name]}'")
    done
    local execute="EXECUTE q"
    ((i > 0)) && execute="EXECUTE q($(IFS=,; echo "${args[*]}"))"
    psql -X -q -A -t -v ON_ERROR_STOP=1 "$url" <<SQL
PREPARE q AS ${sql%;};
SET plan_cache_mode = force_custom_plan;
EXPLAIN (FORMAT JSON, COSTS OFF) $execute;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (FORMAT JSON, COSTS OFF) $execute;
SQL
}

nodes='[.. | objects | select(has("Node Type")) | ."Node Type" + (if ."Relation Name" then " on " + ."Relation Name" else "" end) + (if ."Index Name" then " using " + ."Index Name" else "" end)]'
seqscans="[.. | objects | select(.\"Node Type\" == \"Seq Scan\" and ((.\"Relation Name\" // \"\") | test(\"$guarded\"))) | .\"Relation Name\"]"

failures=0
results=()
for file in bench/sql/*.sql bench/sql/plans/*.sql; do
    n=0
    while IFS= read -r sql; do
        n=$((n + 1))
        sql=${sql% \\gset*}
        label="$(basename "$file" .sql)#$n"
        plans=$(explain "$sql" | jq -c '.[0].Plan')
        allowed=$(grep -oP '^-- plan-check: seq-scan-allowed' "$file" || true)
        mode=custom
        while IFS= read -r plan; do
            types=$(jq -c "$nodes" <<<"$plan")
            bad=$(jq -c "$seqscans" <<<"$plan")
            verdict=ok
            if [[ $bad != "[]" && -n $allowed ]]; then
                verdict="allowed: seq scan on $(jq -r 'join(", ")' <<<"$bad") (see $file)"
            elif [[ $bad != "[]" ]]; then
                verdict="SEQ SCAN on $(jq -r 'join(", ")' <<<"$bad")"
                failures=$((failures + 1))
            fi
            printf '%-28s %-7s %-5s %s\n' "$label" "$mode" "$(case $verdict in ok) echo ok ;; allowed*) echo allow ;; *) echo FAIL ;; esac)" \
                "$(jq -r 'join(" > ")' <<<"$types")"
            results+=("$(jq -cn --arg q "$label" --arg mode "$mode" --argjson nodes "$types" --arg verdict "$verdict" \
                '{query: $q, plan: $mode, nodes: $nodes, ok: ($verdict | startswith("SEQ") | not), verdict: $verdict}')")
            mode=generic
        done <<<"$plans"
    done < <(grep -E '^(SELECT|WITH)' "$file")
done

if [[ -n $out ]]; then
    printf '%s\n' "${results[@]}" | jq -s '.' >"$out"
fi
if ((failures > 0)); then
    echo "plan check: $failures plan(s) scan a guarded table sequentially" >&2
    exit 1
fi
echo "plan check: every plan uses an index on users, organization_members, sessions, api_keys, invitations"
