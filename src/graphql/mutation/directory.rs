use async_graphql::{Context, ID, InputObject, Object};
use uuid::Uuid;

use crate::graphql::context::{caller, services};
use crate::graphql::relay::decode_typed;
use crate::graphql::types::directory::{GROUP, Group, SKILL, Skill};
use crate::graphql::types::payload::payload;
use crate::service::directory::Directory;

/// A new group or skill.
#[derive(InputObject)]
pub struct CreateNamedInput {
    pub client_mutation_id: Option<String>,
    /// Unique in the account in any letter case.
    pub name: String,
    pub description: Option<String>,
}

/// New name and description of a group or skill.
#[derive(InputObject)]
pub struct UpdateNamedInput {
    pub client_mutation_id: Option<String>,
    pub id: ID,
    pub name: String,
    pub description: Option<String>,
}

payload!(
    /// The group created or changed.
    GroupPayload { group: Group }
);
payload!(
    /// The skill created or changed.
    SkillPayload { skill: Skill }
);

#[derive(Default)]
pub struct DirectoryMutation;

#[Object]
impl DirectoryMutation {
    /// Creates a group. Needs USERS FULL.
    async fn create_group(
        &self,
        ctx: &Context<'_>,
        input: CreateNamedInput,
    ) -> async_graphql::Result<GroupPayload> {
        let result = services(ctx)
            .directory_save(
                caller(ctx)?,
                Directory::Groups,
                None,
                &input.name,
                input.description,
            )
            .await;
        GroupPayload::from_result(input.client_mutation_id, result, Group)
    }

    /// Renames a group. Needs USERS FULL.
    async fn update_group(
        &self,
        ctx: &Context<'_>,
        input: UpdateNamedInput,
    ) -> async_graphql::Result<GroupPayload> {
        let id: Uuid = decode_typed(&input.id, GROUP)?;
        let result = services(ctx)
            .directory_save(
                caller(ctx)?,
                Directory::Groups,
                Some(id),
                &input.name,
                input.description,
            )
            .await;
        GroupPayload::from_result(input.client_mutation_id, result, Group)
    }

    /// Creates a skill. Needs USERS FULL.
    async fn create_skill(
        &self,
        ctx: &Context<'_>,
        input: CreateNamedInput,
    ) -> async_graphql::Result<SkillPayload> {
        let result = services(ctx)
            .directory_save(
                caller(ctx)?,
                Directory::Skills,
                None,
                &input.name,
                input.description,
            )
            .await;
        SkillPayload::from_result(input.client_mutation_id, result, Skill)
    }

    /// Renames a skill. Needs USERS FULL.
    async fn update_skill(
        &self,
        ctx: &Context<'_>,
        input: UpdateNamedInput,
    ) -> async_graphql::Result<SkillPayload> {
        let id: Uuid = decode_typed(&input.id, SKILL)?;
        let result = services(ctx)
            .directory_save(
                caller(ctx)?,
                Directory::Skills,
                Some(id),
                &input.name,
                input.description,
            )
            .await;
        SkillPayload::from_result(input.client_mutation_id, result, Skill)
    }
}
