#!/usr/bin/env bash
# Renders a results JSON (bench/run.sh's latest.json) as Markdown.
#   bench/report.sh bench/results/latest.json > bench/results/latest.md
set -euo pipefail
jq -r '
def ms: if . == null then "-" elif . >= 100 then (. | round | tostring) else ((. * 100 | round) / 100 | tostring) end;
def int: (. | round | tostring);
. as $root |
"# Benchmark results\n",
"\(.generatedAt), commit \(.commit). \(.machine.cores) × \(.machine.cpu), \(.machine.memoryMiB) MiB, Linux \(.machine.kernel), PostgreSQL \(.machine.postgres); \(.machine.note). Load average at the end: \(.machine.loadAverageAtEnd).",
"wrk: \(.settings.connections) connections, \(.settings.wrkThreads) threads, \(.settings.duration) per scenario; pgbench: the same SQL, `-M prepared`, \(.settings.connections) clients. Server: \(.settings.server), pool \(.settings.pool). Page size \(.settings.pageSize).\n",
"| scenario | req/s | p50 ms | p99 ms | pgbench tx/s | pgbench p50 ms | pgbench p99 ms | ratio | CPU ms/req server + PG + wrk | CPU ms/tx PG + pgbench | CPU ratio |",
"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
(.scenarios[] | "| \(.request) | \(.rps | int) | \(.p50Ms | ms) | \(.p99Ms | ms) | \(.ceilingTps | int) | \(.ceilingP50Ms | ms) | \(.ceilingP99Ms | ms) | \(.ratio) | \(.cpuMsPerRequest.server) + \(.cpuMsPerRequest.postgres) + \(.cpuMsPerRequest.wrk) | \(.ceilingCpuMsPerTransaction.postgres) + \(.ceilingCpuMsPerTransaction.pgbench) | \(.cpuRatio) |"),
"| /members during a sign-in flood (+\(.settings.floodConnections) connections) | \(.flood.members.rps | int) | \(.flood.members.p50Ms | ms) | \(.flood.members.p99Ms | ms) | | | | | | | |",
"| /auth/sign-in, the flood itself | \(.flood.signIn.rps | int) | \(.flood.signIn.p50Ms | ms) | \(.flood.signIn.p99Ms | ms) | | | | | | | |",
"",
(if .claim then
  "Claim + complete (\(.claim.workers) workers, batches of \(.claim.batch), \(.claim.seededJobs) due jobs): over HTTP \(.claim.http.jobsPerSecond | int) jobs/s, claim p50 \(.claim.http.claimP50Ms | ms) ms, p99 \(.claim.http.claimP99Ms | ms) ms, completion p99 \(.claim.http.completeP99Ms | ms) ms; pgbench over the same statements \(.claim.pgbench.jobsPerSecond | int) jobs/s at \(.claim.pgbench.clients) clients, \(.claim.pgbenchAtPool.jobsPerSecond | int) at \(.claim.pgbenchAtPool.clients) (the server'"'"'s pool); ratio \(.claim.ratio) (all runs: \(.claim.ratios | map(tostring) | join(", "))), to the pool-sized run \(.claim.ratioAtPool) (\(.claim.ratiosAtPool | map(tostring) | join(", "))). CPU ms per job: server \(.claim.http.cpuMsPerJob.server * 1000 | round / 1000) + PostgreSQL \(.claim.http.cpuMsPerJob.postgres * 1000 | round / 1000) over HTTP, PostgreSQL \(.claim.pgbench.cpuMsPerJob.postgres * 1000 | round / 1000) under pgbench at \(.claim.pgbench.clients) clients, \(.claim.pgbenchAtPool.cpuMsPerJob.postgres * 1000 | round / 1000) at \(.claim.pgbenchAtPool.clients).\n"
else empty end),
"ratio = req/s ÷ pgbench tx/s, both measured back to back on the shared machine. CPU ratio = CPU time per pgbench transaction ÷ CPU time per HTTP request (every process involved, sampled from /proc): the ratio a machine without background load would show, since the scheduler shares cores per thread and pgbench runs 32 backends.",
"",
"Server peak RSS (VmHWM): \(.memory.peakRssKiB / 1024 * 10 | round / 10) MiB (RSS at the end \(.memory.rssAtEndKiB / 1024 * 10 | round / 10) MiB).",
"Errors under load: \([.scenarios[] | .non2xx + .socketErrors] | add) (non-2xx answers and socket errors).\n",
"## Targets\n",
"| target | value | met |",
"|---|---:|:---:|",
(.targets[] | "| \(.target) | \(.value) | \(if .met == "measured" then "measured" elif .met then "yes" else "**no**" end) |"),
"",
"## Seed\n",
"| table | rows | seconds | rows/s |",
"|---|---:|---:|---:|",
(.seed.tables[] | "| \(.table) | \(.rows) | \(.seconds * 100 | round / 100) | \(.rowsPerSecond) |"),
"| total (hashing, commit, ANALYZE included) | \([.seed.tables[].rows] | add) | \(.seed.seconds * 100 | round / 100) | \(([.seed.tables[].rows] | add) / $root.seed.seconds | round) |",
"",
"## Plans (\(if .plans.ok then "every list and lookup uses an index" else "**a guarded table is scanned sequentially**" end))\n",
"| query | plan | nodes | verdict |",
"|---|---|---|---|",
(.plans.checked[] | "| \(.query) | \(.plan) | \(.nodes | join(" → ")) | \(.verdict) |")
' "$1"
