use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use crate::graphql::relay::encode_id;
use crate::store::named::{self, NamedRecord};

pub const GROUP: &str = "Group";
pub const SKILL: &str = "Skill";

/// A group of users.
#[derive(Clone)]
pub struct Group(pub NamedRecord);

/// A named group of users in the account. Listing or looking up groups needs USERS READ.
#[Object]
impl Group {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(GROUP, &self.0.id.to_string())
    }
    /// Unique in the account in any letter case; at most 100 characters.
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

/// A skill users can hold at a level.
#[derive(Clone)]
pub struct Skill(pub NamedRecord);

/// A skill users can hold at a level from 1 to 10. Listing or looking up skills needs USERS READ.
#[Object]
impl Skill {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(SKILL, &self.0.id.to_string())
    }
    /// Unique in the account in any letter case; at most 100 characters.
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

/// A skill a user holds, with its level.
pub struct UserSkill(pub named::UserSkill);

/// A skill a user holds, with its level.
#[Object]
impl UserSkill {
    /// The skill's name.
    async fn name(&self) -> &str {
        &self.0.skill.name
    }
    /// Proficiency from 1 to 10.
    async fn level(&self) -> i32 {
        self.0.level
    }
    /// The skill itself.
    async fn skill(&self) -> Skill {
        Skill(self.0.skill.clone())
    }
}
