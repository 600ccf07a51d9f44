use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub max_members: i64,
    pub max_api_keys: i64,
    pub max_jobs: i64,
    pub max_concurrent_tasks: i64,
    pub monthly_token_quota: i64,
    pub price_cents: i64,
    pub currency: String,
    pub provider_price_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
