use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, ConnectionId, ConnectionRequestId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: ConnectionId,
    pub account_id: AccountId,
    pub integration_key: String,
    pub status: ConnectionStatus,
    /// Non-secret settings.
    pub settings: Json,
    /// Encrypted secrets; never leaves the server.
    pub secrets: Option<String>,
    pub connected_by_user_id: Option<UserId>,
    pub connected_by_label: Option<String>,
    pub connected_at: Option<DateTimeUtc>,
    /// The connection request it was made through, if any.
    pub connected_by_request_id: Option<ConnectionRequestId>,
    /// False when the label is an email an invitee of a shareable link typed in.
    pub connected_by_verified: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum ConnectionStatus {
    #[sea_orm(string_value = "NOT_CONNECTED")]
    NotConnected,
    #[sea_orm(string_value = "CONNECTED")]
    Connected,
    #[sea_orm(string_value = "ERROR")]
    Error,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
