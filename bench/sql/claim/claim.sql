-- POST /v1/organizations/{orgId}/jobs/claim {limit, leaseSeconds: 60} by an
-- API key: the key with its organization, then one transaction: the
-- organization row locked and read with its plan and the month's tokens from
-- their counter (the monthly_token_quota check) in one statement
-- (OrganizationRepository::lock_for_claim; claims queue on the row, so none
-- overshoots the plan's max_concurrent_tasks; a key in its own organization
-- needs no other access read), the live leases counted, and the claim itself
-- (CLAIM_POSTGRES in
-- crates/infra/src/repositories/jobs.rs). Copied from the server's statement log;
-- pgbench script (-M prepared), variables from run.sh (-D).
-- Where it differs from the server, and why:
-- - the values the server binds are literals or variables here (the counter's
--   metric, its month computed as the server computes it);
-- - the timestamps the server binds are now() (one value per transaction,
--   as the server's one clock reading per request);
-- - the fresh lease tokens (random) and task ids (time-ordered, as the
--   server's ULIDs) are made in SQL: pgbench cannot make UUIDs;
-- - the last SELECT hands the claimed ids and tokens to the completions as
--   id_1..id_N, tok_1..tok_N (run.sh fills in @PICKS@) instead of returning the
--   claimed rows whole.
SELECT "api_keys"."id" AS "A_id", "api_keys"."organization_id" AS "A_organization_id", "api_keys"."created_by" AS "A_created_by", "api_keys"."name" AS "A_name", "api_keys"."role" AS "A_role", "api_keys"."prefix" AS "A_prefix", "api_keys"."secret_hash" AS "A_secret_hash", "api_keys"."last_used_at" AS "A_last_used_at", "api_keys"."expires_at" AS "A_expires_at", "api_keys"."revoked_at" AS "A_revoked_at", "api_keys"."created_at" AS "A_created_at", "api_keys"."updated_at" AS "A_updated_at", "organizations"."id" AS "B_id", "organizations"."name" AS "B_name", "organizations"."slug" AS "B_slug", "organizations"."plan" AS "B_plan", "organizations"."created_at" AS "B_created_at", "organizations"."updated_at" AS "B_updated_at", "organizations"."deleted_at" AS "B_deleted_at" FROM "api_keys" INNER JOIN "organizations" ON "api_keys"."organization_id" = "organizations"."id" WHERE "api_keys"."prefix" = :api_key_prefix LIMIT :one;
BEGIN;
SELECT "organizations"."id" AS "A_id", "organizations"."name" AS "A_name", "organizations"."slug" AS "A_slug", "organizations"."plan" AS "A_plan", "organizations"."created_at" AS "A_created_at", "organizations"."updated_at" AS "A_updated_at", "organizations"."deleted_at" AS "A_deleted_at", "plans"."id" AS "B_id", "plans"."key" AS "B_key", "plans"."name" AS "B_name", "plans"."max_members" AS "B_max_members", "plans"."max_api_keys" AS "B_max_api_keys", "plans"."max_jobs" AS "B_max_jobs", "plans"."max_concurrent_tasks" AS "B_max_concurrent_tasks", "plans"."monthly_token_quota" AS "B_monthly_token_quota", "plans"."price_cents" AS "B_price_cents", "plans"."currency" AS "B_currency", "plans"."provider_price_id" AS "B_provider_price_id", "plans"."created_at" AS "B_created_at", "plans"."updated_at" AS "B_updated_at", (SELECT "quantity" FROM "usage_counters" WHERE "usage_counters"."organization_id" = :organization_id AND "usage_counters"."metric" = 'tokens' AND "usage_counters"."period_start" = date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS "tokens_this_month" FROM "organizations" INNER JOIN "plans" ON "organizations"."plan" = "plans"."key" WHERE "organizations"."deleted_at" IS NULL AND "organizations"."id" = :organization_id LIMIT :one FOR UPDATE OF "organizations";
SELECT COUNT(*) AS num_items FROM (SELECT "jobs"."id", "jobs"."organization_id", "jobs"."created_by", "jobs"."name", "jobs"."definition", "jobs"."status", "jobs"."interval_seconds", "jobs"."cron", "jobs"."timezone", "jobs"."next_run_at", "jobs"."scheduled_at", "jobs"."max_attempts", "jobs"."attempt", "jobs"."endpoint_id", "jobs"."lease_token", "jobs"."lease_owner", "jobs"."lease_expires_at", "jobs"."current_task_id", "jobs"."last_run_at", "jobs"."last_error", "jobs"."tokens_used", "jobs"."created_at", "jobs"."updated_at", "jobs"."deleted_at" FROM "jobs" WHERE "jobs"."deleted_at" IS NULL AND "jobs"."organization_id" = :organization_id AND "jobs"."lease_token" IS NOT NULL AND "jobs"."lease_expires_at" > now()) AS "sub_query";
WITH picked AS (
    SELECT id, next_run_at, current_task_id AS abandoned
    FROM jobs
    WHERE organization_id = :organization_id AND deleted_at IS NULL AND status = 'active'
      AND next_run_at <= now()
      AND (lease_token IS NULL OR (lease_expires_at <= now() AND attempt < max_attempts))
    ORDER BY next_run_at, id
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
), numbered AS (
    SELECT id, abandoned, row_number() OVER (ORDER BY next_run_at, id) AS slot FROM picked
), fresh AS (
    SELECT token, task_id, slot
    FROM unnest(string_to_array((SELECT string_agg(gen_random_uuid()::text, ',') FROM generate_series(1, :batch)), ',')::uuid[], string_to_array((SELECT string_agg((lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || substr(md5(random()::text), 1, 20))::uuid::text, ',') FROM generate_series(1, :batch)), ',')::uuid[])
         WITH ORDINALITY AS f(token, task_id, slot)
), claimed AS (
    UPDATE jobs j
    SET lease_token = f.token, lease_owner = 'pgbench', lease_expires_at = now() + interval '60 seconds',
        current_task_id = f.task_id, attempt = j.attempt + 1, last_run_at = now(), updated_at = now()
    FROM numbered n JOIN fresh f ON f.slot = n.slot
    WHERE j.id = n.id
    RETURNING j.*
), abandoned AS (
    UPDATE tasks SET status = 'failed', error = 'lease expired', finished_at = now(), updated_at = now()
    WHERE id IN (SELECT abandoned FROM numbered WHERE abandoned IS NOT NULL) AND status = 'running'
), opened AS (
    INSERT INTO tasks (id, job_id, organization_id, status, attempt, worker, scheduled_at,
                       started_at, tokens_used, created_at, updated_at)
    SELECT current_task_id, id, organization_id, 'running', attempt, 'pgbench', scheduled_at, now(), 0, now(), now()
    FROM claimed
)
SELECT @PICKS@
FROM (SELECT array_agg(id ORDER BY next_run_at, id) AS ids,
             array_agg(lease_token ORDER BY next_run_at, id) AS toks FROM claimed) a \gset
COMMIT;
