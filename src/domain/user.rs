//! The kinds, statuses and types a user can have.

use sea_orm::entity::prelude::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};

/// Whether a person can authenticate.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum UserKind {
    /// Can sign in; an ACTIVE login user holds a licence seat.
    #[sea_orm(string_value = "LOGIN")]
    Login,
    /// A contact record only: cannot authenticate, holds no seat.
    #[sea_orm(string_value = "NON_LOGIN")]
    NonLogin,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum UserStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// Imported and awaiting activation: no seat, cannot authenticate.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "DEACTIVATED")]
    Deactivated,
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum UserType {
    #[sea_orm(string_value = "AGENT")]
    Agent,
    #[sea_orm(string_value = "SUPERVISOR")]
    Supervisor,
    #[sea_orm(string_value = "VOICE_SUPERVISOR")]
    VoiceSupervisor,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[sea_orm(string_value = "ANALYST")]
    Analyst,
}

impl UserType {
    /// Agents and voice supervisors take calls: they need a phone and an agent ID.
    pub fn needs_phone_and_agent_id(self) -> bool {
        matches!(self, UserType::Agent | UserType::VoiceSupervisor)
    }
}

/// Seats: only ACTIVE LOGIN users hold one.
pub fn holds_seat(kind: UserKind, status: UserStatus) -> bool {
    kind == UserKind::Login && status == UserStatus::Active
}
