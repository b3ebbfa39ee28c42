use sea_orm::entity::prelude::*;

use crate::domain::ids::AccountId;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: AccountId,
    pub slug: String,
    pub name: String,
    pub licence_limit: i32,
    pub status: AccountStatus,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the admins last confirmed the account's contacts.
    pub contacts_reviewed_at: Option<DateTimeUtc>,
    /// Domains topic contacts' emails must use (a JSON list of lower-case domains); none: any.
    pub allowed_contact_domains: Option<Json>,
    /// The review period a reminder was last emailed for.
    pub contact_reminder_period: Option<DateTimeUtc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AccountStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
