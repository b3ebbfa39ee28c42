use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, TelephonyResourceId, UserId};
use crate::domain::telephony::AccessLevel;

/// A user's access to a queue or line.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_resource_access")]
pub struct Model {
    pub account_id: AccountId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: UserId,
    #[sea_orm(primary_key, auto_increment = false)]
    pub resource_id: TelephonyResourceId,
    pub level: AccessLevel,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::telephony_resource::Entity",
        from = "Column::ResourceId",
        to = "super::telephony_resource::Column::Id"
    )]
    Resource,
}

impl Related<super::telephony_resource::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Resource.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
