use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    UserId,
    Provider,
    ProviderAccountId,
    PasswordHash,
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
            .table(Accounts::Table)
            .col(id_column())
            .col(uuid(Accounts::UserId))
            .col(text(Accounts::Provider))
            .col(text(Accounts::ProviderAccountId))
            .col(text_null(Accounts::PasswordHash));
        timestamps(&mut table).foreign_key(&mut fk_cascade(
            "fk_accounts_users",
            Accounts::Table,
            Accounts::UserId,
            Users::Table,
        ));

        create_table(
            manager,
            table,
            vec![
                unique_index(
                    "idx_accounts_provider_provider_account_id",
                    Accounts::Table,
                    [Accounts::Provider, Accounts::ProviderAccountId],
                ),
                index("idx_accounts_user_id", Accounts::Table, [Accounts::UserId]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Accounts::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
