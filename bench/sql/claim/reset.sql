-- Before each side of the claim scenario (psql): every bench job due again as
-- setup.sql left it, its tasks gone, the tables vacuumed, so the HTTP run and
-- the pgbench run start from the same state.
--   psql -v org=<organizations.id> -f bench/sql/claim/reset.sql
DELETE FROM tasks WHERE organization_id = :'org';
UPDATE jobs SET status = 'active', attempt = 0, lease_token = NULL, lease_owner = NULL,
       lease_expires_at = NULL, current_task_id = NULL, last_run_at = NULL, last_error = NULL,
       tokens_used = 0,
       next_run_at = now() - interval '1 day' + split_part(name, ' ', 3)::int * interval '1 millisecond',
       scheduled_at = now() - interval '1 day' + split_part(name, ' ', 3)::int * interval '1 millisecond'
WHERE organization_id = :'org' AND name LIKE 'bench job %';
VACUUM ANALYZE jobs;
VACUUM ANALYZE tasks;
