//! Queues and lines: the telephony resources of an account, and the access level a user has to
//! each. A template user's access is copied onto the users made from it.

use sea_orm::entity::prelude::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};

/// What a telephony resource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum ResourceKind {
    /// A queue of interactions that agents answer.
    #[sea_orm(string_value = "QUEUE")]
    Queue,
    /// A phone line.
    #[sea_orm(string_value = "LINE")]
    Line,
}

impl ResourceKind {
    pub fn noun(self) -> &'static str {
        match self {
            ResourceKind::Queue => "queue",
            ResourceKind::Line => "line",
        }
    }
}

/// How much a user may do with a queue or line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum AccessLevel {
    /// See it and its statistics.
    #[sea_orm(string_value = "READ")]
    Read,
    /// Also work in it and change its settings.
    #[sea_orm(string_value = "FULL")]
    Full,
}
