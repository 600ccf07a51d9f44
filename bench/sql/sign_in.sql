-- POST /v1/auth/sign-in without the password check (argon2id, which is CPU
-- work in the server, not SQL): user by email, credential account, then the
-- new session and its audit row in one transaction.
-- pgbench script (-M prepared); :users comes from run.sh.
\set n random(0, :users - 1)
SELECT "users"."id", "users"."email", "users"."first_name", "users"."last_name", "users"."type", "users"."profession", "users"."avatar_url", "users"."is_active", "users"."is_admin", "users"."email_verified_at", "users"."created_at", "users"."updated_at", "users"."deleted_at" FROM "users" WHERE "users"."deleted_at" IS NULL AND "users"."email" = 'bench-' || :n || '@seed.example' LIMIT :one \gset u_
SELECT "accounts"."id", "accounts"."user_id", "accounts"."provider", "accounts"."provider_account_id", "accounts"."password_hash", "accounts"."created_at", "accounts"."updated_at" FROM "accounts" WHERE "accounts"."user_id" = :u_id AND "accounts"."provider" = 'credential' LIMIT :one;
BEGIN;
INSERT INTO "sessions" ("id", "user_id", "token_hash", "expires_at", "last_refreshed_at", "ip", "user_agent", "revoked_at", "created_at", "updated_at") VALUES (gen_random_uuid(), :u_id, encode(sha256(gen_random_uuid()::text::bytea), 'hex'), now() + interval '7 days', now(), '127.0.0.1', 'pgbench', NULL, now(), now()) RETURNING "id", "user_id", "token_hash", "expires_at", "last_refreshed_at", "ip", "user_agent", "revoked_at", "created_at", "updated_at";
INSERT INTO "audit_logs" ("id", "organization_id", "actor_type", "actor_id", "action", "entity_type", "entity_id", "changes", "ip", "request_id", "created_at", "updated_at") VALUES (gen_random_uuid(), NULL, 'user', :u_id, 'user.signed_in', 'user', 'usr_x', NULL, '127.0.0.1', gen_random_uuid()::text, now(), now());
COMMIT;
