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
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// Unique in the account in any letter case; 1 to 100 characters after trimming.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
}

/// New name and description of a group or skill.
#[derive(InputObject)]
pub struct UpdateNamedInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The group's or skill's global id.
    pub id: ID,
    /// The new name: unique in the account in any letter case; 1 to 100 characters after trimming.
    pub name: String,
    /// The new description; omitting it or passing `null` clears it.
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
        #[graphql(desc = "The group to create.")] input: CreateNamedInput,
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

    /// Renames a group and replaces its description. Needs USERS FULL.
    async fn update_group(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The group, with its new name and description.")] input: UpdateNamedInput,
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
        #[graphql(desc = "The skill to create.")] input: CreateNamedInput,
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

    /// Renames a skill and replaces its description. Needs USERS FULL.
    async fn update_skill(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The skill, with its new name and description.")] input: UpdateNamedInput,
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
