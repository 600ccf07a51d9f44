#!/usr/bin/env bash
# The benchmark: throwaway PostgreSQL, `api seed`, plan check, the release
# server under wrk at fixed concurrency, pgbench over the same SQL (the
# ceiling), peak RSS; writes bench/results/latest.{md,json}. See bench/README.md.
#
#   bench/run.sh [--duration 10s] [--connections 32] [--threads 2]
#                [--flood-connections 32] [--pool 2*cores+1] [--repeat 1]
#                [--only NAME,...] [--no-build] [--keep]
#                [--claim-jobs 100000] [--claim-workers 16] [--claim-batch 50]
#                [--claim-pgbench-clients 16] [--plan-cache-mode force_generic_plan]
#
# --pool is the server's database.max_connections. PostgreSQL shares this
# machine's cores, so the default is the usual sizing rule for them, cores x 2 + 1
# (5 on 2 cores): more backends than that only take turns on the CPU.
# --repeat N runs each scenario's wrk and pgbench pair N times, back to back,
# and reports the pair with the median ratio (all ratios go to the JSON).
# --only runs just the named scenarios (members_first, members_cursor,
# members_page, the same three at pageSize 20: members_first_20,
# members_cursor_20, members_page_20; organization, waitlist, sign_in, flood,
# claim, webhooks) and writes no report. webhooks: bench/webhooks.py (1,000
# events x 4 webhooks to a local receiver; printed, not in the report).
# claim: --claim-workers clients claim --claim-batch jobs at a time over HTTP and
# complete each (`api bench-claim`), then pgbench runs the same statements
# (bench/sql/claim/) with as many clients (--claim-pgbench-clients to change),
# and again with --pool clients; --claim-jobs due jobs, reset before each side.
#
# --plan-cache-mode sets the server's database.plan_cache_mode and, through
# PGOPTIONS, the same plan_cache_mode for every pgbench run: both sides plan
# their statements alike (auto is PostgreSQL's default).
#
# Environment: BENCH_TARGET_DIR (release build directory; default target/bench,
# apart from target/ so a release build never holds the debug build's lock), BENCH_OUT
# (results directory, default bench/results).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10s
connections=32
threads=2
flood_connections=32
pool=$(($(nproc) * 2 + 1))
repeat=1
only=""
build=1
keep=0
claim_jobs=100000
claim_workers=16
claim_batch=50
claim_pgbench_clients=""
plan_cache_mode=force_generic_plan
while (($#)); do
    case $1 in
        --duration) duration=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --flood-connections) flood_connections=$2; shift 2 ;;
        --pool) pool=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --only) only=,$2,; shift 2 ;;
        --no-build) build=0; shift ;;
        --keep) keep=1; shift ;;
        --plan-cache-mode) plan_cache_mode=$2; shift 2 ;;
        --claim-jobs) claim_jobs=$2; shift 2 ;;
        --claim-workers) claim_workers=$2; shift 2 ;;
        --claim-batch) claim_batch=$2; shift 2 ;;
        --claim-pgbench-clients) claim_pgbench_clients=$2; shift 2 ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $duration =~ ^[0-9]+s$ && ${duration%s} -ge 5 ]] || { echo "--duration takes seconds, at least 5s, like 10s" >&2; exit 2; }
seconds=${duration%s}
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "--repeat takes a count, 1 or more" >&2; exit 2; }
[[ $plan_cache_mode =~ ^(force_generic_plan|auto|force_custom_plan)$ ]] || { echo "--plan-cache-mode takes force_generic_plan, auto or force_custom_plan" >&2; exit 2; }
# pgbench plans as the server does (the server sets it on its own connections).
export PGOPTIONS="-c plan_cache_mode=$plan_cache_mode"
# wanted NAME: whether --only leaves NAME in
wanted() { [[ -z $only || $only == *",$1,"* ]]; }

if [[ -n ${BENCH_TARGET_DIR:-} ]]; then
    target_dir=$BENCH_TARGET_DIR
else
    target_dir=$PWD/target/bench
fi
out=${BENCH_OUT:-bench/results}
bin=$target_dir/release

log() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

# --- tools ------------------------------------------------------------------
missing=()
for tool in wrk pgbench psql jq curl perl bc; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        log "installing ${missing[*]} (Debian packages)"
        packages=()
        for tool in "${missing[@]}"; do
            case $tool in
                pgbench|psql) packages+=(postgresql-client) ;;
                *) packages+=("$tool") ;;
            esac
        done
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
    else
        echo "missing tools: ${missing[*]} (Debian: apt-get install wrk postgresql-client jq curl)" >&2
        exit 1
    fi
fi

# --- build ------------------------------------------------------------------
if ((build)); then
    log "building the release server and migration CLI in $target_dir"
    CARGO_TARGET_DIR=$target_dir cargo build --release -q -p api -p migration
fi
[[ -x $bin/api && -x $bin/migration ]] || { echo "no release binaries in $bin (drop --no-build)" >&2; exit 1; }

# --- throwaway PostgreSQL, cleaned up on any exit ----------------------------
work=$(mktemp -d /tmp/groundwork-bench.XXXXXX)
server_pid=""
background=()
# shellcheck source=bench/pg.sh
source bench/pg.sh
cleanup() {
    local pid
    for pid in "${background[@]}" $server_pid; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${background[@]}" $server_pid; do
        wait "$pid" 2>/dev/null || true
    done
    pg_stop
    if ((keep)); then
        echo "kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting PostgreSQL"
# The pool, pgbench's clients and psql fit in 100 connections; 256 MB of
# shared buffers holds the whole dataset (about 150 MB) like a warm server.
pg_start 256MB 100
log "PostgreSQL $(pg_run postgres --version | awk '{print $3}') on port $PG_PORT, data in $PG_DIR"

log "migrating"
DATABASE_URL=$PG_URL "$bin/migration" up >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; exit 1; }

log "seeding"
APP_ENV=development DATABASE_URL=$PG_URL APP__LOG__FILTER=warn \
    "$bin/api" seed --manifest "$work/seed.json" | tee "$work/seed.txt" >&2
manifest=$work/seed.json
mf() { jq -r ".manifest.$1" "$manifest"; }
org=$(mf organizationId)
token=$(mf sessionToken)
cursor=$(mf deep.cursor)
deep_page=$(mf deep.page)
deep_rows=$(mf deep.rows)
# The same depth at pageSize 20: the manifest's cursor is after row deep_rows
# whatever the page size; the page number is computed for 20.
((deep_rows % 20 == 0)) || { echo "the seed's deep rows ($deep_rows) are not a multiple of 20" >&2; exit 1; }
deep_page_20=$((deep_rows / 20 + 1))

log "plan check"
plans_ok=true
bench/plans.sh "$PG_URL" "$manifest" "$work/plans.json" >&2 || plans_ok=false

# --- the release server -------------------------------------------------------
port=$(free_port)
base=http://127.0.0.1:$port
log "starting the release server on $base (production settings, pool $pool)"
# Rate limits off: wrk calls from one address, and the waitlist and sign-in
# scenarios would measure 429s (rate_limits.enabled exists for such rigs).
# Production refuses to start without a key for endpoint secrets: a throwaway one.
# The webhooks scenario's receiver listens on 127.0.0.1, which the SSRF guard
# refuses unless private networks are allowed.
APP_ENV=production DATABASE_URL=$PG_URL APP__SERVER__HOST=127.0.0.1 APP__SERVER__PORT=$port \
    APP__DATABASE__MAX_CONNECTIONS=$pool APP__RATE_LIMITS__ENABLED=false \
    APP__SECRETS__KEYS__BENCH="$(head -c 32 /dev/urandom | base64)" \
    APP__WEBHOOKS__ALLOW_PRIVATE_NETWORKS=true APP__DATABASE__PLAN_CACHE_MODE=$plan_cache_mode \
    "$bin/api" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    curl -fs "$base/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
curl -fs "$base/health" >/dev/null || { echo "the server did not come up" >&2; exit 1; }

members=$base/v1/organizations/$org/members
# name | method | path (for the table) | wrk script | URL
scenarios=(
    "members_first|GET|/members (first page)|get|$members"
    "members_cursor|GET|/members?cursor= ($deep_rows rows deep)|get|$members?cursor=$cursor"
    "members_page|GET|/members?page=$deep_page ($deep_rows rows deep)|get|$members?page=$deep_page"
    "members_first_20|GET|/members?pageSize=20 (first page)|get|$members?pageSize=20"
    "members_cursor_20|GET|/members?pageSize=20&cursor= ($deep_rows rows deep)|get|$members?pageSize=20&cursor=$cursor"
    "members_page_20|GET|/members?pageSize=20&page=$deep_page_20 ($deep_rows rows deep)|get|$members?pageSize=20&page=$deep_page_20"
    "organization|GET|/organizations/{id}|get|$base/v1/organizations/$org"
    "waitlist|POST|/waitlist|waitlist|$base"
    "sign_in|POST|/auth/sign-in|sign_in|$base"
)

log "checking every scenario answers as expected"
expect() {
    local status
    status=$(curl -s -o "$work/check.json" -w '%{http_code}' "${@:2}")
    [[ $status == "$1" ]] || { echo "expected $1, got $status from ${*:2}: $(cat "$work/check.json")" >&2; exit 1; }
}
# check_deep SIZE PAGE: the first page, the cursor page and page PAGE at
# pageSize SIZE answer SIZE members, and the cursor and the page land on the
# same rows (not the first page's).
check_deep() {
    local size=$1 page=$2 first_id cursor_ids page_ids
    expect 200 -H "Authorization: Bearer $token" "$members?pageSize=$size"
    first_id=$(jq -r '.items[0].id' "$work/check.json")
    expect 200 -H "Authorization: Bearer $token" "$members?pageSize=$size&cursor=$cursor"
    cursor_ids=$(jq -c '[.items[].id]' "$work/check.json")
    expect 200 -H "Authorization: Bearer $token" "$members?pageSize=$size&page=$page"
    page_ids=$(jq -c '[.items[].id]' "$work/check.json")
    [[ $cursor_ids == "$page_ids" && $(jq length <<<"$page_ids") == "$size" && $(jq -r '.[0]' <<<"$page_ids") != "$first_id" ]] || {
        echo "pageSize $size: the cursor and page $page disagree ($cursor_ids vs $page_ids)" >&2
        exit 1
    }
}
check_deep 10 "$deep_page"
check_deep 20 "$deep_page_20"
expect 200 -H "Authorization: Bearer $token" "$base/v1/organizations/$org"
expect 201 -H 'Content-Type: application/json' -d '{"email":"check@bench.example","role":"employee"}' "$base/v1/waitlist"
expect 200 -H 'Content-Type: application/json' \
    -d "{\"email\":\"$(jq -r .manifest.sql.email "$manifest")\",\"password\":\"$(mf password)\"}" "$base/v1/auth/sign-in"

export BENCH_TOKEN=$token BENCH_RUN=$$-$RANDOM BENCH_USERS=$(mf users) \
    BENCH_EMAIL_PATTERN=$(mf emailPattern) BENCH_PASSWORD=$(mf password)

# CPU time per request, by process group. On a shared machine the scheduler
# shares the cores per thread, so throughput ratios move with background load;
# CPU time spent per request does not, and tells what a dedicated machine would
# do. Sampled over the middle of a run (from 2 s in to 1 s before the end), for
# the processes alive at both ends: utime + stime ticks from /proc.
ticks() {
    local stat
    { stat=$(<"/proc/$1/stat"); } 2>/dev/null || { echo 0; return; }
    # shellcheck disable=SC2086 # split the fields after "pid (comm) "
    set -- ${stat##*) }
    echo $((${12} + ${13}))
}
# sample_cpu OUT CLIENT (wrk|pgbench) SERVER_PID|-: writes {serverTicks, pgTicks, clientTicks, seconds}
sample_cpu() {
    local out=$1 client=$2 server=$3 p postmaster began=$EPOCHREALTIME
    postmaster=$(head -1 "$PG_DIR/data/postmaster.pid")
    declare -A t0
    sleep 2
    local start=$EPOCHREALTIME
    for p in $(pgrep -P "$postmaster") $(pgrep -x "$client") ${server/-/}; do t0[$p]=$(ticks "$p"); done
    sleep "$(echo "$began + $seconds - 1 - $EPOCHREALTIME" | bc)"
    local pg=0 cl=0 sv=0 d
    for p in "${!t0[@]}"; do
        [[ -e /proc/$p ]] || continue
        d=$(($(ticks "$p") - ${t0[$p]}))
        if [[ $p == "$server" ]]; then sv=$((sv + d));
        elif [[ $(cat "/proc/$p/comm" 2>/dev/null) == "$client" ]]; then cl=$((cl + d));
        else pg=$((pg + d)); fi
    done
    jq -n --argjson sv "$sv" --argjson pg "$pg" --argjson cl "$cl" \
        --argjson s "$(echo "$EPOCHREALTIME - $start" | bc)" --argjson hz "$(getconf CLK_TCK)" \
        '{serverMs: ($sv * 1000 / $hz), pgMs: ($pg * 1000 / $hz), clientMs: ($cl * 1000 / $hz), seconds: $s}' >"$out"
}

# run_wrk NAME SCRIPT URL CONNECTIONS -> $work/NAME.json
run_wrk() {
    local name=$1 script=$2 url=$3 conns=$4 sampler
    cat "bench/wrk/$script.lua" bench/wrk/report.lua >"$work/$name.lua"
    sample_cpu "$work/$name.cpu" wrk "$server_pid" &
    sampler=$!
    # A nonce per wrk run, so a repeated waitlist run posts fresh emails.
    BENCH_RUN=$BENCH_RUN-${name//./-} \
        wrk -t"$threads" -c"$conns" -d"$duration" --timeout 10s --latency -s "$work/$name.lua" "$url" \
        >"$work/$name.wrk" 2>&1
    wait "$sampler"
    grep '^BENCH_JSON ' "$work/$name.wrk" | cut -d' ' -f2- |
        jq -c --arg rss "$(vm_kib VmHWM)" --slurpfile cpu "$work/$name.cpu" '
            (.requests / (.durationUs / 1e6)) as $rps | ($cpu[0]) as $c | ($rps * $c.seconds) as $n |
            . + {rps: $rps, hwmKiB: ($rss | tonumber),
                 cpuMsPerRequest: {server: ($c.serverMs / $n), postgres: ($c.pgMs / $n), wrk: ($c.clientMs / $n)}}' \
            >"$work/$name.json"
}

vm_kib() { awk -v key="$1:" '$1 == key {print $2}' "/proc/$server_pid/status"; }

# run_pgbench SCENARIO NAME -> $work/pgbench_NAME.json: the scenario's statements
# straight to PostgreSQL, right after its wrk run so both see the same machine.
sqlv() { jq -r ".manifest.sql.$1" "$manifest"; }
run_pgbench() {
    local scenario=$1 name=$2 tps count sampler
    mkdir -p "$work/pgbench_$name"
    sample_cpu "$work/pgbench_$name.cpu" pgbench - &
    sampler=$!
    (cd "$work/pgbench_$name" && pgbench -n -M prepared -c "$connections" -j "$threads" -T "$seconds" \
        -l --log-prefix=tx -f "$OLDPWD/bench/sql/$scenario.sql" \
        -D token_hash="$(sqlv tokenHash)" -D organization_id="$(sqlv organizationId)" \
        -D user_id="$(sqlv userId)" -D cursor_at="$(sqlv cursorCreatedAt)" \
        -D cursor_id="$(sqlv cursorMemberId)" -D deep_offset="$deep_rows" -D users="$(mf users)" \
        -D one=1 -D zero=0 -D page_limit=11 -D page_limit_20=21 \
        "$PG_URL" >"../pgbench_$name.txt" 2>&1) || { cat "$work/pgbench_$name.txt" >&2; exit 1; }
    wait "$sampler"
    tps=$(awk '/^tps = / {print $3}' "$work/pgbench_$name.txt")
    cat "$work/pgbench_$name"/tx* | awk '{print $3}' | sort -n >"$work/pgbench_$name.lat"
    count=$(wc -l <"$work/pgbench_$name.lat")
    pct() { sed -n "$(( (count * $1 + 99) / 100 ))p" "$work/pgbench_$name.lat"; }
    jq -n --argjson tps "$tps" --argjson p50 "$(pct 50)" --argjson p99 "$(pct 99)" \
        --slurpfile cpu "$work/pgbench_$name.cpu" '($cpu[0]) as $c | ($tps * $c.seconds) as $n |
        {tps: $tps, p50Us: $p50, p99Us: $p99,
         cpuMsPerTransaction: {postgres: ($c.pgMs / $n), pgbench: ($c.clientMs / $n)}}' >"$work/pgbench_$name.json"
    rm -rf "$work/pgbench_$name"
}

log "warming up (3 s, not recorded)"
(duration=3s run_wrk warmup get "$members" "$connections")

for scenario in "${scenarios[@]}"; do
    IFS='|' read -r name _ _ script url <<<"$scenario"
    wanted "$name" || continue
    ratios=()
    for run in $(seq 1 "$repeat"); do
        log "$name: wrk ($connections connections, $duration), then pgbench ($connections clients)$( ((repeat > 1)) && echo ", run $run of $repeat")"
        run_wrk "$name.$run" "$script" "$url" "$connections"
        jq -r '"   wrk:     \(.rps | floor) req/s  p50 \(.p50Us / 1000) ms  p99 \(.p99Us / 1000) ms  non-2xx \(.non2xx)"' \
            "$work/$name.$run.json" >&2
        run_pgbench "$name" "$name.$run"
        ratios+=("$(jq -n --slurpfile h "$work/$name.$run.json" --slurpfile p "$work/pgbench_$name.$run.json" \
            '$h[0].rps / $p[0].tps') $run")
        jq -r --slurpfile h "$work/$name.$run.json" '"   pgbench: \(.tps | floor) tx/s   p50 \(.p50Us / 1000) ms  p99 \(.p99Us / 1000) ms   ratio \($h[0].rps / .tps * 1000 | round / 1000)"' \
            "$work/pgbench_$name.$run.json" >&2
    done
    # The pair with the median ratio stands for the scenario; every ratio is kept.
    median=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n "$(( (repeat + 1) / 2 ))p" | cut -d' ' -f2)
    printf '%s\n' "${ratios[@]}" | sort -g | cut -d' ' -f1 | jq -s 'map(. * 1000 | round / 1000)' >"$work/$name.ratios"
    jq --slurpfile r "$work/$name.ratios" '. + {ratios: $r[0]}' "$work/$name.$median.json" >"$work/$name.json"
    cp "$work/pgbench_$name.$median.json" "$work/pgbench_$name.json"
    ((repeat > 1)) && log "$name: ratios $(jq -c . "$work/$name.ratios"), median from run $median"
done

run_flood() {
    log "wrk: members_first during a sign-in flood ($connections + $flood_connections connections)"
    run_wrk flood_sign_in sign_in "$base" "$flood_connections" &
    background+=($!)
    sleep 1 # let the flood build up first
    run_wrk flood_members get "$members" "$connections"
    wait "${background[@]}"
    background=()
    jq -r '"   members: \(.rps | floor) req/s  p50 \(.p50Us / 1000) ms  p99 \(.p99Us / 1000) ms"' "$work/flood_members.json" >&2
    jq -r '"   sign-in: \(.rps | floor) req/s  p50 \(.p50Us / 1000) ms  p99 \(.p99Us / 1000) ms"' "$work/flood_sign_in.json" >&2
}
wanted flood && run_flood

# --- claim + complete: the job protocol --------------------------------------
# HTTP: `api bench-claim`, claim_workers clients, each claiming claim_batch jobs
# (lease 60 s) and completing each (`succeeded`), for $duration. pgbench: the
# same statements (bench/sql/claim/claim.sql once, then complete.sql per job,
# the script written below with one completion block per claimed job). jobs/s
# on each side; the jobs are reset to due before each.
org_uuid=$(sqlv organizationId)
claim_ready=0
claim_reset() {
    psql -X -q -v ON_ERROR_STOP=1 -v org="$org_uuid" -f bench/sql/claim/reset.sql "$PG_URL" >/dev/null
}
succeeded_tasks() {
    psql -X -A -t -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM tasks WHERE organization_id = '$org_uuid' AND status = 'succeeded'" "$PG_URL"
}
claim_prepare() {
    log "claim: $claim_jobs due jobs in the large organization (enterprise plan)"
    psql -X -q -v ON_ERROR_STOP=1 -v org="$org_uuid" -v jobs="$claim_jobs" -f bench/sql/claim/setup.sql "$PG_URL" >/dev/null
    # The claim's final SELECT hands pgbench the claimed ids and tokens as
    # id_1..id_N, tok_1..tok_N (\gset); completion block i uses id_i, tok_i.
    local picks="" i
    for i in $(seq 1 "$claim_batch"); do
        picks+="${picks:+, }(a.ids)[$i] AS id_$i, (a.toks)[$i] AS tok_$i"
    done
    {
        sed "s/@PICKS@/$picks/" bench/sql/claim/claim.sql
        for i in $(seq 1 "$claim_batch"); do
            sed "s/:job_id\b/:id_$i/g; s/:lease_token\b/:tok_$i/g" bench/sql/claim/complete.sql
        done
    } >"$work/claim.pgbench.sql"
    claim_ready=1
}
# claim_pgbench RUN TAG CLIENTS -> $work/pgbench_claim_TAG.RUN.json (jobs reset first)
claim_pgbench() {
    local run=$1 tag=$2 clients=$3 sampler tps db name=pgbench_claim_$2.$1
    claim_reset
    mkdir -p "$work/$name"
    sample_cpu "$work/$name.cpu" pgbench - &
    sampler=$!
    (cd "$work/$name" && pgbench -n -M prepared -c "$clients" -j "$threads" -T "$seconds" \
        -l --log-prefix=tx -f "$work/claim.pgbench.sql" \
        -D organization_id="$org_uuid" -D api_key_prefix="$(sqlv apiKeyPrefix)" -D batch="$claim_batch" \
        -D one=1 "$PG_URL" >"../$name.txt" 2>&1) || { cat "$work/$name.txt" >&2; exit 1; }
    wait "$sampler"
    tps=$(awk '/^tps = / {print $3}' "$work/$name.txt")
    db=$(succeeded_tasks)
    cat "$work/$name"/tx* | awk '{print $3}' | sort -n >"$work/$name.lat"
    rm -rf "${work:?}/$name"
    jq -n --argjson tps "$tps" --argjson batch "$claim_batch" --argjson db "$db" --argjson clients "$clients" \
        --argjson p99 "$(sed -n "$(( ($(wc -l <"$work/$name.lat") * 99 + 99) / 100 ))p" "$work/$name.lat")" \
        --slurpfile cpu "$work/$name.cpu" '
        ($cpu[0]) as $c | ($tps * $batch) as $jps | ($jps * $c.seconds) as $n |
        {clients: $clients, cyclesPerSecond: $tps, jobsPerSecond: $jps, cycleP99Ms: ($p99 / 1000), succeededInDatabase: $db,
         cpuMsPerJob: {postgres: ($c.pgMs / $n), pgbench: ($c.clientMs / $n)}}' >"$work/$name.json"
    jq -r '"   pgbench: \(.jobsPerSecond | floor) jobs/s at \(.clients) clients (\(.cyclesPerSecond | floor) claim + complete cycles/s, cycle p99 \(.cycleP99Ms) ms, \(.succeededInDatabase) succeeded in the database)  CPU ms/job PG \(.cpuMsPerJob.postgres * 1000 | round / 1000) + pgbench \(.cpuMsPerJob.pgbench * 1000 | round / 1000)"' \
        "$work/$name.json" >&2
}
# The HTTP side against pgbench at the same concurrency (the ratio the
# target is about), and against pgbench at the server's pool size (--pool): on
# this machine 16 backends contending cost PostgreSQL twice the CPU per job
# that 5 do, so the pool-sized run is the higher ceiling; both are reported.
run_claim() {
    ((claim_ready)) || claim_prepare
    local run ratios=() sampler db median ratio pool_ratio
    for run in $(seq 1 "$repeat"); do
        claim_reset
        log "claim: $claim_workers HTTP workers, batches of $claim_batch, $duration$( ((repeat > 1)) && echo ", run $run of $repeat")"
        sample_cpu "$work/claim_http.$run.cpu" api "$server_pid" &
        sampler=$!
        GROUNDWORK_API_KEY=$(mf apiKey) "$bin/api" bench-claim --api-url "$base" --organization "$org" \
            --workers "$claim_workers" --batch "$claim_batch" --duration-secs "$seconds" \
            >"$work/claim_http.$run.raw" 2>"$work/claim_http.$run.log" || { cat "$work/claim_http.$run.log" >&2; exit 1; }
        wait "$sampler"
        db=$(succeeded_tasks)
        jq -c --argjson db "$db" --slurpfile cpu "$work/claim_http.$run.cpu" '
            ($cpu[0]) as $c | (.jobsPerSecond * $c.seconds) as $n |
            . + {succeededInDatabase: $db,
                 cpuMsPerJob: {server: ($c.serverMs / $n), postgres: ($c.pgMs / $n), driver: ($c.clientMs / $n)}}' \
            "$work/claim_http.$run.raw" >"$work/claim_http.$run.json"
        jq -r '"   http:    \(.jobsPerSecond | floor) jobs/s  claim p50 \(.claimP50Ms) ms  p99 \(.claimP99Ms) ms  complete p99 \(.completeP99Ms) ms  short claims \(.shortClaims)  errors \(.errors)  (\(.jobs) jobs, \(.succeededInDatabase) succeeded in the database)  CPU ms/job server \(.cpuMsPerJob.server * 1000 | round / 1000) + PG \(.cpuMsPerJob.postgres * 1000 | round / 1000) + driver \(.cpuMsPerJob.driver * 1000 | round / 1000)"' \
            "$work/claim_http.$run.json" >&2
        claim_pgbench "$run" same "${claim_pgbench_clients:-$claim_workers}"
        claim_pgbench "$run" pool "$pool"
        ratio=$(jq -n --slurpfile h "$work/claim_http.$run.json" --slurpfile p "$work/pgbench_claim_same.$run.json" \
            '$h[0].jobsPerSecond / $p[0].jobsPerSecond')
        pool_ratio=$(jq -n --slurpfile h "$work/claim_http.$run.json" --slurpfile p "$work/pgbench_claim_pool.$run.json" \
            '$h[0].jobsPerSecond / $p[0].jobsPerSecond')
        ratios+=("$ratio $run $pool_ratio")
        log "claim: ratio $(jq -n "$ratio * 1000 | round / 1000") (to pgbench at $pool clients: $(jq -n "$pool_ratio * 1000 | round / 1000"))"
    done
    median=$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n "$(( (repeat + 1) / 2 ))p" | cut -d' ' -f2)
    printf '%s\n' "${ratios[@]}" | sort -g | cut -d' ' -f1 | jq -s 'map(. * 1000 | round / 1000)' >"$work/claim.ratios"
    printf '%s\n' "${ratios[@]}" | cut -d' ' -f3 | sort -g | jq -s 'map(. * 1000 | round / 1000)' >"$work/claim.pool_ratios"
    jq -n --slurpfile h "$work/claim_http.$median.json" --slurpfile p "$work/pgbench_claim_same.$median.json" \
        --slurpfile pp "$work/pgbench_claim_pool.$median.json" \
        --slurpfile r "$work/claim.ratios" --slurpfile rp "$work/claim.pool_ratios" --argjson jobs "$claim_jobs" '
        {workers: $h[0].workers, batch: $h[0].batch, seededJobs: $jobs, http: $h[0], pgbench: $p[0], pgbenchAtPool: $pp[0],
         ratio: (($h[0].jobsPerSecond / $p[0].jobsPerSecond * 1000 | round) / 1000), ratios: $r[0],
         ratioAtPool: (($h[0].jobsPerSecond / $pp[0].jobsPerSecond * 1000 | round) / 1000), ratiosAtPool: $rp[0]}' >"$work/claim.json"
    ((repeat > 1)) && log "claim: ratios $(jq -c . "$work/claim.ratios") (to pgbench at $pool clients: $(jq -c . "$work/claim.pool_ratios")), median from run $median"
    return 0
}
wanted claim && run_claim

# --- webhooks: outbox -> signed POST to a local receiver ---------------------
# bench/webhooks.py: a receiver on this machine, 4 webhooks, 1,000 events each
# committed in one transaction; deliveries/s and commit -> arrival lag p50/p99
# (the server's webhook worker at its production settings: batch 20, poll 500 ms).
run_webhooks() {
    log "webhooks: 1000 events x 4 webhooks to a local receiver"
    python3 bench/webhooks.py "$base" "$token" "$org" "$PG_URL" 1000 4 >"$work/webhooks.json"
    jq -r '"   \(.deliveriesPerSecond) deliveries/s  lag p50 \(.lagP50Ms) ms  p99 \(.lagP99Ms) ms  (\(.delivered) of \(.expected), duplicates \(.duplicates), missing \(.missing))"' \
        "$work/webhooks.json" >&2
}
wanted webhooks && run_webhooks
if [[ -n $only ]]; then
    log "--only: no report written; server peak RSS $(vm_kib VmHWM) KiB"
    exit 0
fi

peak_kib=$(vm_kib VmHWM)
rss_kib=$(vm_kib VmRSS)
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""

# --- results --------------------------------------------------------------------
mkdir -p "$out"
rows=()
for scenario in "${scenarios[@]}"; do
    IFS='|' read -r name method path _ _ <<<"$scenario"
    rows+=("$(jq -c -n --arg name "$name" --arg request "$method $path" \
        --slurpfile http "$work/$name.json" --slurpfile pg "$work/pgbench_$name.json" '
        ($http[0]) as $h | ($pg[0]) as $p |
        {name: $name, request: $request,
         rps: ($h.rps | round), p50Ms: ($h.p50Us / 1000), p99Ms: ($h.p99Us / 1000),
         non2xx: $h.non2xx, socketErrors: $h.socketErrors,
         ceilingTps: ($p.tps | round), ceilingP50Ms: ($p.p50Us / 1000), ceilingP99Ms: ($p.p99Us / 1000),
         ratio: (($h.rps / $p.tps * 1000 | round) / 1000), ratios: $h.ratios, hwmKiBAfter: $h.hwmKiB,
         cpuMsPerRequest: ($h.cpuMsPerRequest | map_values(. * 1000 | round / 1000)),
         ceilingCpuMsPerTransaction: ($p.cpuMsPerTransaction | map_values(. * 1000 | round / 1000)),
         cpuRatio: ((($p.cpuMsPerTransaction | add) / ($h.cpuMsPerRequest | add) * 1000 | round) / 1000)}')")
done

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem_mib=$(awk '/^MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
pg_version=$(pg_run postgres --version | awk '{print $3}')
printf '%s\n' "${rows[@]}" | jq -s \
    --arg generated "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --arg cpu "$cpu" --argjson cores "$(nproc)" --argjson mem "$mem_mib" --arg kernel "$(uname -r)" \
    --arg pg "$pg_version" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg duration "$duration" --argjson connections "$connections" --argjson threads "$threads" \
    --argjson flood "$flood_connections" --argjson pool "$pool" --argjson repeat "$repeat" \
    --slurpfile seed "$manifest" --slurpfile plans "$work/plans.json" \
    --slurpfile fm "$work/flood_members.json" --slurpfile fs "$work/flood_sign_in.json" \
    --slurpfile claim "$work/claim.json" \
    --argjson peak "$peak_kib" --argjson rss "$rss_kib" --argjson plansOk "$plans_ok" '
    (map({key: .name, value: .}) | from_entries) as $s |
    {generatedAt: $generated, commit: $commit,
     machine: {cpu: $cpu, cores: $cores, memoryMiB: $mem, kernel: $kernel, postgres: $pg,
               loadAverageAtEnd: $load,
               note: "wrk, the server and PostgreSQL share these cores"},
     settings: {duration: $duration, repeat: $repeat, connections: $connections, wrkThreads: $threads,
                floodConnections: $flood, pool: $pool, pageSize: "10 (20 in the *_20 scenarios)",
                server: "release build, APP_ENV=production (2 workers, request logging at info)"},
     seed: {seconds: $seed[0].seconds, tables: ($seed[0].tables | map(. + {rowsPerSecond: ((.rows / .seconds) | round)}))},
     scenarios: .,
     flood: {members: {rps: ($fm[0].rps | round), p50Ms: ($fm[0].p50Us / 1000), p99Ms: ($fm[0].p99Us / 1000), non2xx: $fm[0].non2xx},
             signIn: {rps: ($fs[0].rps | round), p50Ms: ($fs[0].p50Us / 1000), p99Ms: ($fs[0].p99Us / 1000), non2xx: $fs[0].non2xx}},
     claim: $claim[0],
     memory: {peakRssKiB: $peak, rssAtEndKiB: $rss},
     plans: {ok: $plansOk, checked: $plans[0]},
     targets: [
       {target: "member list >= 50% of its pgbench ceiling", value: $s.members_first.ratio, met: ($s.members_first.ratio >= 0.5)},
       {target: "(the same by CPU time per request: what a machine without background load would show)", value: $s.members_first.cpuRatio, met: ($s.members_first.cpuRatio >= 0.5)},
       {target: "member list p99 < 25 ms at \($connections) connections", value: $s.members_first.p99Ms, met: ($s.members_first.p99Ms < 25)},
       {target: "cursor page \($s.members_cursor.request | capture("\\((?<d>[0-9]+)") .d) rows deep p50 within 1.5x of the first page", value: (($s.members_cursor.p50Ms / $s.members_first.p50Ms * 100 | round) / 100), met: ($s.members_cursor.p50Ms <= 1.5 * $s.members_first.p50Ms)},
       {target: "server peak RSS < 64 MiB", value: (($peak / 1024 * 10 | round) / 10), met: ($peak < 65536)},
       {target: "a sign-in flood does not stall the member list: during it, at least half the quiet req/s (\($s.members_first.rps | round)) and p50 within 2x of the quiet p50 (\($s.members_first.p50Ms) ms); hashing itself takes a fifth to a quarter of the cores", value: "\($fm[0].rps | round) req/s, p50 \($fm[0].p50Us / 1000) ms", met: ($fm[0].rps >= 0.5 * $s.members_first.rps and $fm[0].p50Us / 1000 <= 2 * $s.members_first.p50Ms)},
       {target: "the member list p99 during the flood, against the quiet p99 (\($s.members_first.p99Ms) ms)", value: "\($fm[0].p99Us / 1000) ms, \(($fm[0].p99Us / 1000 / $s.members_first.p99Ms * 100 | round) / 100)x", met: "measured"},
       {target: "claim + complete over HTTP (\($claim[0].workers) workers, batches of \($claim[0].batch)) >= 50% of pgbench jobs/s", value: $claim[0].ratio, met: ($claim[0].ratio >= 0.5)},
       {target: "(the same against pgbench at the server'"'"'s pool size, \($claim[0].pgbenchAtPool.clients) clients)", value: $claim[0].ratioAtPool, met: ($claim[0].ratioAtPool >= 0.5)},
       {target: "every list and lookup plan uses an index", value: $plansOk, met: $plansOk},
       {target: "no error answers under load", value: ([.[] | .non2xx + .socketErrors] | add), met: (([.[] | .non2xx + .socketErrors] | add) == 0)}
     ]}' >"$out/latest.json"

bench/report.sh "$out/latest.json" >"$out/latest.md"
cat "$out/latest.md"
log "results: $out/latest.md and $out/latest.json"
$plans_ok || { echo "plan check failed: see the plans above" >&2; exit 1; }
