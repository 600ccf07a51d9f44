//! The GitHub App's data: `github_installations` and `github_installation_repositories`
//! keyed by GitHub's own numeric ids (`bigint`; GitHub never reuses them), and
//! `github_deliveries`, every webhook delivery recorded once by its
//! `X-GitHub-Delivery` GUID (a redelivery is a unique violation of
//! `idx_github_deliveries_delivery_id`) with its payload, so the events of an
//! installation that is not linked yet are kept and applied when it is.

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GithubInstallations {
    Table,
    Id,
    AccountLogin,
    AccountId,
    AccountType,
    OrganizationId,
    RepositorySelection,
    Permissions,
    Events,
    SuspendedAt,
    DeletedAt,
    StateAt,
    LinkedAt,
}

#[derive(DeriveIden)]
enum GithubInstallationRepositories {
    Table,
    InstallationId,
    Id,
    Name,
    FullName,
    Private,
    RemovedAt,
    ChangedAt,
}

#[derive(DeriveIden)]
enum GithubDeliveries {
    Table,
    DeliveryId,
    Event,
    Action,
    InstallationId,
    Payload,
    ReceivedAt,
    AppliedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

fn big<C: IntoIden>(name: C) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().take()
}

fn big_null<C: IntoIden>(name: C) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().take()
}

async fn create_installations(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut table = Table::create();
    table
        .table(GithubInstallations::Table)
        .col(big(GithubInstallations::Id).primary_key().take())
        // Unknown until the first event arrives (the setup callback may come first).
        .col(text_null(GithubInstallations::AccountLogin))
        .col(big_null(GithubInstallations::AccountId))
        // GitHub's values (`User`, `Organization`, ...), kept as sent: a new
        // kind on GitHub's side must not make a delivery fail.
        .col(text_null(GithubInstallations::AccountType))
        .col(
            ColumnDef::new(GithubInstallations::OrganizationId)
                .uuid()
                .null(),
        )
        .col(text_null(GithubInstallations::RepositorySelection))
        .col(
            ColumnDef::new(GithubInstallations::Permissions)
                .json_binary()
                .null(),
        )
        .col(
            ColumnDef::new(GithubInstallations::Events)
                .json_binary()
                .null(),
        )
        .col(timestamptz_null(GithubInstallations::SuspendedAt))
        // Uninstalled on GitHub: terminal, since GitHub never reuses an id.
        .col(timestamptz_null(GithubInstallations::DeletedAt))
        // The payload time (`installation.updated_at`) of the snapshot stored:
        // an older event never overwrites a newer one.
        .col(timestamptz_null(GithubInstallations::StateAt))
        .col(timestamptz_null(GithubInstallations::LinkedAt));
    timestamps(&mut table).foreign_key(
        ForeignKey::create()
            .name("fk_github_installations_organizations")
            .from(
                GithubInstallations::Table,
                GithubInstallations::OrganizationId,
            )
            .to(Organizations::Table, Common::Id)
            // Organizations are soft-deleted; were one removed for good, its
            // installations would stay, unlinked.
            .on_delete(ForeignKeyAction::SetNull)
            .on_update(ForeignKeyAction::NoAction),
    );
    create_table(
        manager,
        table,
        vec![
            index(
                "idx_github_installations_organization_id_created_at",
                GithubInstallations::Table,
                [Alias::new("organization_id"), Alias::new("created_at")],
            ),
            index(
                "idx_github_installations_organization_id_account_login",
                GithubInstallations::Table,
                [Alias::new("organization_id"), Alias::new("account_login")],
            ),
        ],
    )
    .await
}

async fn create_repositories(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut table = Table::create();
    table
        .table(GithubInstallationRepositories::Table)
        .col(big(GithubInstallationRepositories::InstallationId))
        .col(big(GithubInstallationRepositories::Id))
        .col(text(GithubInstallationRepositories::Name))
        .col(text(GithubInstallationRepositories::FullName))
        .col(boolean_default(
            GithubInstallationRepositories::Private,
            false,
        ))
        .col(timestamptz_null(GithubInstallationRepositories::RemovedAt))
        // The payload time of the last add or removal applied: an older one
        // never undoes a newer one (an `added` cannot resurrect a later removal).
        .col(timestamptz(GithubInstallationRepositories::ChangedAt));
    timestamps(&mut table)
        .primary_key(
            Index::create()
                .col(GithubInstallationRepositories::InstallationId)
                .col(GithubInstallationRepositories::Id),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_github_installation_repositories_github_installations")
                .from(
                    GithubInstallationRepositories::Table,
                    GithubInstallationRepositories::InstallationId,
                )
                .to(GithubInstallations::Table, GithubInstallations::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .on_update(ForeignKeyAction::NoAction),
        );
    create_table(
        manager,
        table,
        vec![
            index(
                "idx_github_installation_repositories_installation_id_created_at",
                GithubInstallationRepositories::Table,
                [Alias::new("installation_id"), Alias::new("created_at")],
            ),
            index(
                "idx_github_installation_repositories_installation_id_full_name",
                GithubInstallationRepositories::Table,
                [Alias::new("installation_id"), Alias::new("full_name")],
            ),
        ],
    )
    .await
}

async fn create_deliveries(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut table = Table::create();
    table
        .table(GithubDeliveries::Table)
        .col(id_column())
        .col(text(GithubDeliveries::DeliveryId))
        .col(text(GithubDeliveries::Event))
        .col(text_null(GithubDeliveries::Action))
        // No foreign key: a delivery is recorded before (or without) its installation.
        .col(big_null(GithubDeliveries::InstallationId))
        .col(
            ColumnDef::new(GithubDeliveries::Payload)
                .json_binary()
                .not_null(),
        )
        .col(timestamptz(GithubDeliveries::ReceivedAt))
        .col(timestamptz_null(GithubDeliveries::AppliedAt));
    timestamps(&mut table);
    create_table(
        manager,
        table,
        vec![
            // A redelivery is refused by this index, concurrency-safe.
            unique_index(
                "idx_github_deliveries_delivery_id",
                GithubDeliveries::Table,
                [GithubDeliveries::DeliveryId],
            ),
            // The kept events of an installation, applied when it is linked.
            index(
                "idx_github_deliveries_installation_id_received_at",
                GithubDeliveries::Table,
                [Alias::new("installation_id"), Alias::new("received_at")],
            ),
        ],
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_installations(manager).await?;
        create_repositories(manager).await?;
        create_deliveries(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, GithubDeliveries::Table).await?;
        drop_table(manager, GithubInstallationRepositories::Table).await?;
        drop_table(manager, GithubInstallations::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
