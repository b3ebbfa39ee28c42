use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Option<AccountId>,
    pub recipient_user_id: Option<UserId>,
    pub to_address: String,
    pub to_name: Option<String>,
    pub template: String,
    pub language: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    /// The bodies are encrypted with the key ring (they carry a secret, e.g. an invite link).
    pub body_encrypted: bool,
    pub message_id: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub last_reply: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum OutboxStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
