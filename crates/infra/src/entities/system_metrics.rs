use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "system_metrics")]
pub struct Model {
    /// `GENERATED ALWAYS AS IDENTITY`: never set by the application.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub labels: Json,
    #[sea_orm(column_type = "Double")]
    pub value: f64,
    pub recorded_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
