-- POST /v1/waitlist: one INSERT ... RETURNING (autocommit).
-- pgbench script (-M prepared). The email is made unique in SQL (pgbench
-- cannot build strings); the server binds it as a parameter.
INSERT INTO "waitlist_entries" ("email", "role", "created_at", "updated_at") VALUES ('pgbench-' || gen_random_uuid() || '@bench.example', 'employee', now(), now()) RETURNING "id", "email", "role", "created_at", "updated_at";
