-- Sign-in: the user's credential account (its password hash).
SELECT "accounts"."id", "accounts"."user_id", "accounts"."provider", "accounts"."provider_account_id", "accounts"."password_hash", "accounts"."created_at", "accounts"."updated_at" FROM "accounts" WHERE "accounts"."user_id" = :user_id AND "accounts"."provider" = 'credential' LIMIT 1;
