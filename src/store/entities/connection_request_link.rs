use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, ConnectionRequestId, InviteLinkId};

/// An invite link: only the keyed hash of its token. A resend replaces the current link, whose
/// row stays so its holder can be told the link was replaced.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connection_request_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: InviteLinkId,
    pub account_id: AccountId,
    pub request_id: ConnectionRequestId,
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub replaced_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
