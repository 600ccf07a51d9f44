use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VerificationTokens {
    Table,
    Identifier,
    Purpose,
    TokenHash,
    ExpiresAt,
    ConsumedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(VerificationTokens::Table)
            .col(id_column())
            .col(text(VerificationTokens::Identifier))
            .col(text(VerificationTokens::Purpose))
            .col(text(VerificationTokens::TokenHash))
            .col(timestamptz(VerificationTokens::ExpiresAt))
            .col(timestamptz_null(VerificationTokens::ConsumedAt));
        timestamps(&mut table).check(check_one_of(
            "chk_verification_tokens_purpose",
            VerificationTokens::Purpose,
            &["email_verification", "password_reset"],
        ));

        create_table(
            manager,
            table,
            vec![
                unique_index(
                    "idx_verification_tokens_token_hash",
                    VerificationTokens::Table,
                    [VerificationTokens::TokenHash],
                ),
                index(
                    "idx_verification_tokens_identifier",
                    VerificationTokens::Table,
                    [VerificationTokens::Identifier],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, VerificationTokens::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
