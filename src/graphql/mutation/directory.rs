use async_graphql::{Context, ID, InputObject, Object};
use uuid::Uuid;

use crate::domain::ids::TelephonyResourceId;
use crate::graphql::context::{caller, services};
use crate::graphql::relay::decode_typed;
use crate::graphql::types::directory::{GROUP, Group, SKILL, Skill};
use crate::graphql::types::enums::TelephonyResourceKind;
use crate::graphql::types::payload::payload;
use crate::graphql::types::telephony::{TELEPHONY_RESOURCE, TelephonyResource};
use crate::service::directory::Directory;
use crate::service::telephony::ResourceChange;

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

/// New name and description of a group, skill, queue or line.
#[derive(InputObject)]
pub struct UpdateNamedInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The group's, skill's, queue's or line's global id.
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

/// A new queue or line.
#[derive(InputObject)]
pub struct CreateTelephonyResourceInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// Queue or line.
    pub kind: TelephonyResourceKind,
    /// 1 to 100 characters; unique among the account's resources of this kind in any letter case.
    pub name: String,
    /// Free text, at most 500 characters.
    #[graphql(validator(max_length = 500))]
    pub description: Option<String>,
}

payload!(
    /// The result of creating or changing a queue or line.
    TelephonyResourcePayload { telephony_resource: TelephonyResource }
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

    /// Creates a queue or line. Needs USERS FULL.
    async fn create_telephony_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The queue or line to create.")] input: CreateTelephonyResourceInput,
    ) -> async_graphql::Result<TelephonyResourcePayload> {
        let result = services(ctx)
            .save_telephony_resource(
                caller(ctx)?,
                ResourceChange::Create(input.kind.into()),
                &input.name,
                input.description,
            )
            .await;
        TelephonyResourcePayload::from_result(input.client_mutation_id, result, TelephonyResource)
    }

    /// Renames a queue or line and replaces its description. Needs USERS FULL.
    async fn update_telephony_resource(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The queue or line, with its new name and description.")]
        input: UpdateNamedInput,
    ) -> async_graphql::Result<TelephonyResourcePayload> {
        let id: TelephonyResourceId = decode_typed(&input.id, TELEPHONY_RESOURCE)?;
        let result = services(ctx)
            .save_telephony_resource(
                caller(ctx)?,
                ResourceChange::Update(id),
                &input.name,
                input.description,
            )
            .await;
        TelephonyResourcePayload::from_result(input.client_mutation_id, result, TelephonyResource)
    }
}
