use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::domain::ids::{GroupId, RoleId, SkillId, UserId};
use crate::graphql::context::{caller, services};
use crate::graphql::relay::{decode_all, decode_typed};
use crate::graphql::types::directory::{GROUP, SKILL};
use crate::graphql::types::enums::{UserKind, UserStatus, UserType};
use crate::graphql::types::payload::payload;
use crate::graphql::types::role::ROLE;
use crate::graphql::types::user::{USER, User};
use crate::service::Patch;
use crate::service::users::{NewUserInput, UserPatch};

/// A new login user or non-login contact.
#[derive(InputObject)]
pub struct CreateUserInput {
    pub client_mutation_id: Option<String>,
    /// LOGIN (default) or NON_LOGIN.
    pub kind: Option<UserKind>,
    /// ACTIVE (default) or PENDING.
    pub status: Option<UserStatus>,
    /// Required for login users; unique in the account in any letter case.
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Needs USER_PII FULL.
    pub email: Option<String>,
    /// E.164, e.g. `+41445551234`. Needs USER_PII FULL.
    pub phone: Option<String>,
    /// BCP 47, e.g. `de-CH`.
    pub preferred_language: Option<String>,
    pub user_type: Option<UserType>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub telephony_region: Option<String>,
    pub licence_type: Option<String>,
    /// Unique in the account.
    pub agent_id: Option<i64>,
}

/// A skill and its level for a user.
#[derive(InputObject)]
pub struct UserSkillInput {
    pub skill_id: ID,
    /// From 1 to 10.
    pub level: i32,
}

/// Changes to a user. An omitted field is left as it is; `null` clears it.
#[derive(InputObject)]
pub struct UpdateUserInput {
    pub client_mutation_id: Option<String>,
    pub id: ID,
    pub username: MaybeUndefined<String>,
    pub display_name: MaybeUndefined<String>,
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    /// Needs USER_PII FULL.
    pub email: MaybeUndefined<String>,
    /// Needs USER_PII FULL.
    pub phone: MaybeUndefined<String>,
    pub preferred_language: MaybeUndefined<String>,
    pub user_type: MaybeUndefined<UserType>,
    pub country: MaybeUndefined<String>,
    pub telephony_region: MaybeUndefined<String>,
    pub licence_type: MaybeUndefined<String>,
    pub agent_id: MaybeUndefined<i64>,
    /// Replaces the user's groups.
    #[graphql(validator(max_items = 250))]
    pub group_ids: Option<Vec<ID>>,
    /// Replaces the user's skills.
    #[graphql(validator(max_items = 250))]
    pub skills: Option<Vec<UserSkillInput>>,
}

/// Names a user.
#[derive(InputObject)]
pub struct UserIdInput {
    pub client_mutation_id: Option<String>,
    pub id: ID,
}

/// Replaces a user's roles.
#[derive(InputObject)]
pub struct AssignRolesInput {
    pub client_mutation_id: Option<String>,
    pub user_id: ID,
    #[graphql(validator(max_items = 250))]
    pub role_ids: Vec<ID>,
}

payload!(
    /// The created user.
    CreateUserPayload { user: User }
);
payload!(
    /// The updated user.
    UpdateUserPayload { user: User }
);
payload!(
    /// The user after the status change.
    UserStatusPayload { user: User }
);
payload!(
    /// The user whose roles were replaced.
    AssignRolesPayload { user: User }
);

fn patch<T>(value: MaybeUndefined<T>) -> Patch<T> {
    match value {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(value) => Patch::Set(value),
    }
}

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Creates a login user (holds a seat while ACTIVE) or a non-login contact. Needs USERS FULL,
    /// and USER_PII FULL to set an email or phone.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        input: CreateUserInput,
    ) -> async_graphql::Result<CreateUserPayload> {
        let new = NewUserInput {
            kind: input.kind.map(Into::into),
            status: input.status.map(Into::into),
            username: input.username,
            display_name: input.display_name,
            first_name: input.first_name,
            last_name: input.last_name,
            email: input.email,
            phone: input.phone,
            preferred_language: input.preferred_language,
            user_type: input.user_type.map(Into::into),
            country: input.country,
            telephony_region: input.telephony_region,
            licence_type: input.licence_type,
            agent_id: input.agent_id,
        };
        let result = services(ctx).create_user(caller(ctx)?, new).await;
        CreateUserPayload::from_result(input.client_mutation_id, result, User)
    }

    /// Changes a user's fields, groups and skills. Needs USERS FULL (and USER_PII FULL for email
    /// or phone).
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        input: UpdateUserInput,
    ) -> async_graphql::Result<UpdateUserPayload> {
        let id: UserId = decode_typed(&input.id, USER)?;
        let group_ids = input
            .group_ids
            .as_deref()
            .map(|ids| decode_all::<GroupId>(ids, GROUP))
            .transpose()?;
        let skills = input
            .skills
            .map(|skills| {
                skills
                    .into_iter()
                    .map(|s| {
                        Ok((
                            decode_all::<SkillId>(std::slice::from_ref(&s.skill_id), SKILL)?[0],
                            s.level,
                        ))
                    })
                    .collect::<crate::error::AppResult<Vec<_>>>()
            })
            .transpose()?;
        let change = UserPatch {
            username: patch(input.username),
            display_name: patch(input.display_name),
            first_name: patch(input.first_name),
            last_name: patch(input.last_name),
            email: patch(input.email),
            phone: patch(input.phone),
            preferred_language: patch(input.preferred_language),
            user_type: patch(input.user_type.map_value(Into::into)),
            country: patch(input.country),
            telephony_region: patch(input.telephony_region),
            licence_type: patch(input.licence_type),
            agent_id: patch(input.agent_id),
            group_ids,
            skills,
        };
        let result = services(ctx).update_user(caller(ctx)?, id, change).await;
        UpdateUserPayload::from_result(input.client_mutation_id, result, User)
    }

    /// Deactivates a user: they can no longer sign in and free their seat. The account's last
    /// active admin cannot be deactivated. Needs USERS FULL.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserIdInput,
    ) -> async_graphql::Result<UserStatusPayload> {
        let id = decode_typed(&input.id, USER)?;
        let result = services(ctx).set_user_active(caller(ctx)?, id, false).await;
        UserStatusPayload::from_result(input.client_mutation_id, result, User)
    }

    /// Reactivates a deactivated user (a login user needs a free seat). Needs USERS FULL.
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        input: UserIdInput,
    ) -> async_graphql::Result<UserStatusPayload> {
        let id = decode_typed(&input.id, USER)?;
        let result = services(ctx).set_user_active(caller(ctx)?, id, true).await;
        UserStatusPayload::from_result(input.client_mutation_id, result, User)
    }

    /// Replaces a user's roles. Needs ROLES FULL; no role may grant more than the caller holds,
    /// and the account keeps at least one active admin.
    async fn assign_roles(
        &self,
        ctx: &Context<'_>,
        input: AssignRolesInput,
    ) -> async_graphql::Result<AssignRolesPayload> {
        let id = decode_typed(&input.user_id, USER)?;
        let roles = decode_all::<RoleId>(&input.role_ids, ROLE)?;
        let result = services(ctx).assign_roles(caller(ctx)?, id, roles).await;
        AssignRolesPayload::from_result(input.client_mutation_id, result, User)
    }
}
