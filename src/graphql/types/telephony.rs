use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::enums::{ResourceAccessLevel, TelephonyResourceKind};
use crate::graphql::relay::encode_id;
use crate::store::entities::telephony_resource as resource;
use crate::store::telephony;

pub const TELEPHONY_RESOURCE: &str = "TelephonyResource";

/// A queue or a line.
#[derive(Clone)]
pub struct TelephonyResource(pub resource::Model);

/// A queue or a phone line of the account. Listing or looking them up needs USERS READ.
#[Object]
impl TelephonyResource {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(TELEPHONY_RESOURCE, &self.0.id.to_string())
    }
    /// Queue or line.
    async fn kind(&self) -> TelephonyResourceKind {
        self.0.kind.into()
    }
    /// Unique among the account's resources of its kind in any letter case; at most 100
    /// characters.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Free text; absent when none was given.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A user's access to a queue or line.
pub struct UserResourceAccess(pub telephony::ResourceAccess);

/// A user's access to a queue or line, with its level.
#[Object]
impl UserResourceAccess {
    /// The queue or line.
    async fn resource(&self) -> TelephonyResource {
        TelephonyResource(self.0.resource.clone())
    }
    /// How much the user may do with it.
    async fn level(&self) -> ResourceAccessLevel {
        self.0.level.into()
    }
}
