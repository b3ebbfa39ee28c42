use sea_orm::entity::prelude::*;

use crate::domain::ids::{AccountId, UserId};
use crate::domain::user::{UserKind, UserStatus, UserType};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: UserId,
    pub account_id: AccountId,
    pub kind: UserKind,
    pub status: UserStatus,
    pub username: Option<String>,
    /// Lower-cased username: uniqueness in any letter case is a database constraint.
    pub username_key: Option<String>,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
    pub user_type: Option<UserType>,
    pub country: Option<String>,
    pub telephony_region: Option<String>,
    pub licence_type: Option<String>,
    pub agent_id: Option<i64>,
    /// Set when mail to `email` failed permanently.
    pub email_invalid_at: Option<DateTimeUtc>,
    /// A contact's job title.
    pub title: Option<String>,
    /// The contact address is a distribution list, not a person.
    pub is_distribution_list: bool,
    /// May be invited to product-usage interviews.
    pub may_contact_for_interviews: bool,
    /// May be told about product updates.
    pub may_contact_for_product_updates: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::account::Entity",
        from = "Column::AccountId",
        to = "super::account::Column::Id"
    )]
    Account,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
