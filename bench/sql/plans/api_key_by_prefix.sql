-- API key authentication: the key with a public lookup prefix (then a
-- constant-time comparison of its secret's hash, in the server).
SELECT "api_keys"."id", "api_keys"."organization_id", "api_keys"."created_by", "api_keys"."name", "api_keys"."role", "api_keys"."prefix", "api_keys"."secret_hash", "api_keys"."last_used_at", "api_keys"."expires_at", "api_keys"."revoked_at", "api_keys"."created_at", "api_keys"."updated_at" FROM "api_keys" WHERE "api_keys"."prefix" = :api_key_prefix LIMIT 1;
