-- The claim scenario's data (psql, run once after `api seed`): the large
-- organization on the enterprise plan (max_concurrent_tasks 1,000 leaves room
-- for 16 workers x 50 leased jobs), and :jobs active one-shot jobs in it, due
-- one millisecond apart a day ago (oldest due first is then a strict order).
--   psql -v org=<organizations.id> -v jobs=100000 -f bench/sql/claim/setup.sql
UPDATE organizations SET plan = 'enterprise' WHERE id = :'org';
INSERT INTO jobs (id, organization_id, created_by, name, definition, status, timezone,
                  next_run_at, scheduled_at, max_attempts, attempt, tokens_used, created_at, updated_at)
SELECT gen_random_uuid(), :'org', 'usr_bench', 'bench job ' || n, 'Say hello.', 'active', 'UTC',
       now() - interval '1 day' + n * interval '1 millisecond',
       now() - interval '1 day' + n * interval '1 millisecond', 3, 0, 0, now(), now()
FROM generate_series(1, :jobs) AS n;
VACUUM ANALYZE jobs;
