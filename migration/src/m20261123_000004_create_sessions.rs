use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    UserId,
    TokenHash,
    ExpiresAt,
    LastRefreshedAt,
    Ip,
    UserAgent,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Sessions::Table)
            .col(id_column())
            .col(uuid(Sessions::UserId))
            .col(text(Sessions::TokenHash))
            .col(timestamptz(Sessions::ExpiresAt))
            .col(timestamptz(Sessions::LastRefreshedAt))
            .col(text_null(Sessions::Ip))
            .col(text_null(Sessions::UserAgent))
            .col(timestamptz_null(Sessions::RevokedAt));
        timestamps(&mut table).foreign_key(&mut fk_cascade(
            "fk_sessions_users",
            Sessions::Table,
            Sessions::UserId,
            Users::Table,
        ));

        create_table(
            manager,
            table,
            vec![
                unique_index(
                    "idx_sessions_token_hash",
                    Sessions::Table,
                    [Sessions::TokenHash],
                ),
                index("idx_sessions_user_id", Sessions::Table, [Sessions::UserId]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Sessions::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
