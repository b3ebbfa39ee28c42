use sea_orm::entity::prelude::*;

use crate::domain::contact::{NoticeKind, Topic};

/// A notice from the vendor: a platform record, not an account's.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub audience: NoticeAudience,
    pub integration_key: Option<String>,
    pub topic: Option<Topic>,
    pub kind: NoticeKind,
    pub subject: String,
    pub body: String,
    /// `{ "<language>": { "subject": …, "body": … } }`.
    pub translations: Json,
    pub status: NoticeStatus,
    pub audience_size: i32,
    /// The last recipient (user id) the fan-out reached; recipients are taken in id order.
    pub fanout_cursor: Option<Uuid>,
    /// The operator who sent it.
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum NoticeAudience {
    #[sea_orm(string_value = "INTEGRATION_CONTACTS")]
    IntegrationContacts,
    #[sea_orm(string_value = "TOPIC_CONTACTS")]
    TopicContacts,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum NoticeStatus {
    /// Recipients are still being fanned out.
    #[sea_orm(string_value = "SENDING")]
    Sending,
    /// Every recipient has its message in the outbox.
    #[sea_orm(string_value = "SENT")]
    Sent,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
