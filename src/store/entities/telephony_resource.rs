use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, TelephonyResourceId};
use crate::domain::telephony::ResourceKind;

/// A queue or a line of an account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "telephony_resources")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: TelephonyResourceId,
    pub account_id: AccountId,
    pub kind: ResourceKind,
    pub name: String,
    /// The folded name: unique per account and kind.
    pub name_key: String,
    pub description: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
