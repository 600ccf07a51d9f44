use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub created_by: String,
    pub name: String,
    pub definition: String,
    pub status: String,
    pub interval_seconds: Option<i64>,
    pub cron: Option<String>,
    pub timezone: String,
    pub next_run_at: Option<DateTimeUtc>,
    pub scheduled_at: Option<DateTimeUtc>,
    pub max_attempts: i32,
    pub attempt: i32,
    pub endpoint_id: Option<Uuid>,
    pub lease_token: Option<Uuid>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub current_task_id: Option<Uuid>,
    pub last_run_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub tokens_used: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organizations::Entity",
        from = "Column::OrganizationId",
        to = "super::organizations::Column::Id"
    )]
    Organization,
}

impl Related<super::organizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
