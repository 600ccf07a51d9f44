use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "github_installations")]
pub struct Model {
    /// GitHub's installation id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub account_login: Option<String>,
    pub account_id: Option<i64>,
    pub account_type: Option<String>,
    pub organization_id: Option<Uuid>,
    pub repository_selection: Option<String>,
    pub permissions: Option<Json>,
    pub events: Option<Json>,
    pub suspended_at: Option<DateTimeUtc>,
    pub deleted_at: Option<DateTimeUtc>,
    pub state_at: Option<DateTimeUtc>,
    pub linked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
