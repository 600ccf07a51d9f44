use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    OrganizationId,
    ActorType,
    ActorId,
    Action,
    EntityType,
    EntityId,
    Changes,
    Ip,
    RequestId,
}

/// PostgreSQL: the trail is append-only. Row triggers reject UPDATE and DELETE,
/// a statement trigger rejects TRUNCATE, whoever connects.
const APPEND_ONLY: &str = r#"
CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER trg_audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
CREATE TRIGGER trg_audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only();
"#;

const DROP_APPEND_ONLY: &str = r#"
DROP TRIGGER IF EXISTS trg_audit_logs_no_truncate ON audit_logs;
DROP TRIGGER IF EXISTS trg_audit_logs_append_only ON audit_logs;
DROP FUNCTION IF EXISTS audit_logs_append_only();
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        // No foreign keys on purpose: the trail outlives what it describes, and a
        // cascading purge would have to delete append-only rows.
        table
            .table(AuditLogs::Table)
            .col(id_column())
            .col(ColumnDef::new(AuditLogs::OrganizationId).uuid().null())
            .col(text(AuditLogs::ActorType))
            .col(ColumnDef::new(AuditLogs::ActorId).uuid().null())
            .col(text(AuditLogs::Action))
            .col(text(AuditLogs::EntityType))
            .col(text_null(AuditLogs::EntityId))
            .col(ColumnDef::new(AuditLogs::Changes).json_binary().null())
            .col(text_null(AuditLogs::Ip))
            .col(text_null(AuditLogs::RequestId));
        timestamps(&mut table).check(check_one_of(
            "chk_audit_logs_actor_type",
            AuditLogs::ActorType,
            &["user", "api_key", "anonymous", "system"],
        ));

        create_table(
            manager,
            table,
            vec![
                // IDs are time-ordered, so (organization_id, id) serves the newest-
                // first cursor pages of one organization's trail.
                index(
                    "idx_audit_logs_organization_id_id",
                    AuditLogs::Table,
                    [Alias::new("organization_id"), Alias::new("id")],
                ),
                index(
                    "idx_audit_logs_entity_id",
                    AuditLogs::Table,
                    [AuditLogs::EntityId],
                ),
                index(
                    "idx_audit_logs_action",
                    AuditLogs::Table,
                    [AuditLogs::Action],
                ),
                index(
                    "idx_audit_logs_actor_id",
                    AuditLogs::Table,
                    [AuditLogs::ActorId],
                ),
            ],
        )
        .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(APPEND_ONLY)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(DROP_APPEND_ONLY)
                .await?;
        }
        drop_table(manager, AuditLogs::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
