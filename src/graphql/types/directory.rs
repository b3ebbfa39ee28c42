use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use crate::graphql::relay::encode_id;
use crate::store::named::{self, NamedRecord};

pub const GROUP: &str = "Group";
pub const SKILL: &str = "Skill";

/// A group of users.
#[derive(Clone)]
pub struct Group(pub NamedRecord);

#[Object]
impl Group {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(GROUP, &self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A skill users can hold at a level.
#[derive(Clone)]
pub struct Skill(pub NamedRecord);

#[Object]
impl Skill {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(SKILL, &self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A skill a user holds, with its level.
pub struct UserSkill(pub named::UserSkill);

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
    async fn skill(&self) -> Skill {
        Skill(self.0.skill.clone())
    }
}
