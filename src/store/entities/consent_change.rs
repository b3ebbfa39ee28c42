use sea_orm::entity::prelude::*;

use crate::domain::contact::ConsentFlag;
use crate::domain::ids::{AccountId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub flag: ConsentFlag,
    pub value: bool,
    pub changed_by_user_id: Option<UserId>,
    pub changed_by_label: Option<String>,
    pub changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
