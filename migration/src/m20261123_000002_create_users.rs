use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Email,
    FirstName,
    LastName,
    Type,
    Profession,
    AvatarUrl,
    IsActive,
    IsAdmin,
    EmailVerifiedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Users::Table)
            .col(id_column())
            .col(text(Users::Email))
            .col(text(Users::FirstName))
            .col(text(Users::LastName))
            .col(text(Users::Type))
            .col(text_null(Users::Profession))
            .col(text_null(Users::AvatarUrl))
            .col(boolean_default(Users::IsActive, true))
            .col(boolean_default(Users::IsAdmin, false))
            .col(timestamptz_null(Users::EmailVerifiedAt));
        timestamps_soft_delete(&mut table)
            .check(check_one_of(
                "chk_users_type",
                Users::Type,
                &["employee", "organization"],
            ))
            .check(Check::named(
                "chk_users_profession",
                Expr::col(Users::Type)
                    .ne("employee")
                    .or(Expr::col(Users::Profession).is_not_null()),
            ));

        create_table(
            manager,
            table,
            vec![
                unique_index_live("idx_users_email", Users::Table, [Users::Email]),
                index("idx_users_created_at", Users::Table, [Common::CreatedAt]),
                deleted_at_index("idx_users_deleted_at", Users::Table),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Users::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
