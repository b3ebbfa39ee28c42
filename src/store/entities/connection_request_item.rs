use sea_orm::entity::prelude::*;

use crate::domain::connection_request::ItemStatus;
use crate::domain::ids::{AccountId, ConnectionRequestId};

/// One integration of a connection request, with its own status.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connection_request_items")]
pub struct Model {
    pub account_id: AccountId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub request_id: ConnectionRequestId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub integration_key: String,
    /// The order the requester listed them in.
    pub position: i32,
    pub status: ItemStatus,
    pub connected_at: Option<DateTimeUtc>,
    /// Who connected it through the request, as entered.
    pub connected_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
