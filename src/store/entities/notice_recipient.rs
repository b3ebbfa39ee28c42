use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, UserId};

/// One recipient of a notice: at most one per (notice, user), written with its outbox message.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notice_recipients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub notice_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    pub account_id: AccountId,
    /// The language of the text they were sent.
    pub language: String,
    pub outbox_message_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
