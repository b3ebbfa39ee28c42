use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use super::patch;
use crate::domain::ids::{GroupId, RoleId, SkillId, TelephonyResourceId, UserId};
use crate::graphql::context::{caller, services};
use crate::graphql::relay::{decode_all, decode_typed};
use crate::graphql::types::directory::{GROUP, SKILL};
use crate::graphql::types::enums::{ResourceAccessLevel, UserKind, UserStatus, UserType};
use crate::graphql::types::payload::payload;
use crate::graphql::types::role::ROLE;
use crate::graphql::types::telephony::TELEPHONY_RESOURCE;
use crate::graphql::types::user::{USER, User};
use crate::service::users::{NewUserInput, UserPatch};

/// A new login user or non-login contact.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// LOGIN (default) or NON_LOGIN.
    pub kind: Option<UserKind>,
    /// ACTIVE (default) or PENDING.
    pub status: Option<UserStatus>,
    /// Required for login users; unique in the account in any letter case. Up to 100 letters,
    /// digits and `. _ - @ +`.
    pub username: Option<String>,
    /// Name shown in the product; at most 200 characters.
    pub display_name: Option<String>,
    /// Given name; at most 200 characters.
    pub first_name: Option<String>,
    /// Family name; at most 200 characters.
    pub last_name: Option<String>,
    /// Needs USER_PII FULL.
    pub email: Option<String>,
    /// E.164, e.g. `+41445551234`. Needs USER_PII FULL.
    pub phone: Option<String>,
    /// BCP 47, e.g. `de-CH`.
    pub preferred_language: Option<String>,
    /// The user's job in the contact centre.
    pub user_type: Option<UserType>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Telephony region (free text).
    pub telephony_region: Option<String>,
    /// Licence type (free text).
    pub licence_type: Option<String>,
    /// From 1 to 999999999999; unique in the account.
    pub agent_id: Option<i64>,
}

/// A skill and its level for a user.
#[derive(InputObject)]
pub struct UserSkillInput {
    /// The skill's global id.
    pub skill_id: ID,
    /// From 1 to 10.
    pub level: i32,
}

/// A user's access to a queue or line.
#[derive(InputObject)]
pub struct ResourceAccessInput {
    /// The queue's or line's global id.
    pub resource_id: ID,
    /// How much the user may do with it.
    pub level: ResourceAccessLevel,
}

/// Changes to a user. An omitted field is left as it is; `null` clears it.
#[derive(InputObject)]
pub struct UpdateUserInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The user's global id.
    pub id: ID,
    /// Login name, unique in the account in any letter case; a login user's cannot be cleared.
    pub username: MaybeUndefined<String>,
    /// Name shown in the product; at most 200 characters.
    pub display_name: MaybeUndefined<String>,
    /// Given name; at most 200 characters.
    pub first_name: MaybeUndefined<String>,
    /// Family name; at most 200 characters.
    pub last_name: MaybeUndefined<String>,
    /// Needs USER_PII FULL.
    pub email: MaybeUndefined<String>,
    /// Needs USER_PII FULL.
    pub phone: MaybeUndefined<String>,
    /// BCP 47, e.g. `de-CH`.
    pub preferred_language: MaybeUndefined<String>,
    /// The user's job in the contact centre.
    pub user_type: MaybeUndefined<UserType>,
    /// ISO 3166-1 alpha-2.
    pub country: MaybeUndefined<String>,
    /// Telephony region (free text).
    pub telephony_region: MaybeUndefined<String>,
    /// Licence type (free text).
    pub licence_type: MaybeUndefined<String>,
    /// From 1 to 999999999999; unique in the account.
    pub agent_id: MaybeUndefined<i64>,
    /// Replaces the user's groups (global ids; at most 250).
    #[graphql(validator(max_items = 250))]
    pub group_ids: Option<Vec<ID>>,
    /// Replaces the user's skills (at most 250, each skill once).
    #[graphql(validator(max_items = 250))]
    pub skills: Option<Vec<UserSkillInput>>,
    /// Replaces the user's queue and line access (at most 250, each resource once).
    #[graphql(validator(max_items = 250))]
    pub resource_access: Option<Vec<ResourceAccessInput>>,
}

/// Names a user.
#[derive(InputObject)]
pub struct UserIdInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The user's global id.
    pub id: ID,
}

/// Replaces a user's roles.
#[derive(InputObject)]
pub struct AssignRolesInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The user's global id.
    pub user_id: ID,
    /// Global ids of every role the user will hold; an empty list removes them all. At most 250.
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

/// Pending users to activate, and the roles they get.
#[derive(InputObject)]
pub struct ActivateUsersInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// Global ids of PENDING login users: 1 to 250.
    #[graphql(validator(max_items = 250))]
    pub user_ids: Vec<ID>,
    /// Global ids of the roles every one of them will hold. At most 250.
    #[graphql(validator(max_items = 250))]
    pub role_ids: Vec<ID>,
}

payload!(
    /// The activated users.
    ActivateUsersPayload { users: Vec<User> }
);

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    /// Activates pending users (say, imported by user sync) with the given roles, all or none:
    /// each takes a seat, and together they must fit the licence (LICENCE_LIMIT). Needs USERS
    /// FULL and ROLES FULL, and every grant of the roles. To copy a template user's settings
    /// instead, use `createUsersFromTemplate` with `pendingUserIds`.
    async fn activate_users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The users and their roles.")] input: ActivateUsersInput,
    ) -> async_graphql::Result<ActivateUsersPayload> {
        let users = decode_all::<UserId>(&input.user_ids, USER)?;
        let roles = decode_all::<RoleId>(&input.role_ids, ROLE)?;
        let result = services(ctx)
            .activate_users(caller(ctx)?, users, roles)
            .await;
        ActivateUsersPayload::from_result(input.client_mutation_id, result, |users| {
            users.into_iter().map(User::from).collect()
        })
    }

    /// Creates a login user (holds a licence seat while ACTIVE: LICENCE_LIMIT when none is free)
    /// or a non-login contact. Needs USERS FULL, and USER_PII FULL to set an email or phone.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to create.")] input: CreateUserInput,
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
            ..NewUserInput::default()
        };
        let result = services(ctx).create_user(caller(ctx)?, new).await;
        CreateUserPayload::from_result(input.client_mutation_id, result, User::from)
    }

    /// Changes a user's fields, groups, skills and queue and line access. Needs USERS FULL (and USER_PII FULL for email
    /// or phone).
    async fn update_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user and the changes.")] input: UpdateUserInput,
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
        let resource_access = input
            .resource_access
            .map(|access| {
                access
                    .into_iter()
                    .map(|a| {
                        Ok((
                            decode_all::<TelephonyResourceId>(
                                std::slice::from_ref(&a.resource_id),
                                TELEPHONY_RESOURCE,
                            )?[0],
                            a.level.into(),
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
            user_type: patch(input.user_type),
            country: patch(input.country),
            telephony_region: patch(input.telephony_region),
            licence_type: patch(input.licence_type),
            agent_id: patch(input.agent_id),
            group_ids,
            skills,
            resource_access,
        };
        let result = services(ctx).update_user(caller(ctx)?, id, change).await;
        UpdateUserPayload::from_result(input.client_mutation_id, result, User::from)
    }

    /// Deactivates a user: they can no longer sign in and free their seat. The account's last
    /// active admin cannot be deactivated. Needs USERS FULL.
    async fn deactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to deactivate.")] input: UserIdInput,
    ) -> async_graphql::Result<UserStatusPayload> {
        let id = decode_typed(&input.id, USER)?;
        let result = services(ctx).set_user_active(caller(ctx)?, id, false).await;
        UserStatusPayload::from_result(input.client_mutation_id, result, User::from)
    }

    /// Makes a DEACTIVATED or PENDING user ACTIVE (a login user needs a free licence seat:
    /// LICENCE_LIMIT otherwise). Needs USERS FULL.
    async fn reactivate_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user to make ACTIVE.")] input: UserIdInput,
    ) -> async_graphql::Result<UserStatusPayload> {
        let id = decode_typed(&input.id, USER)?;
        let result = services(ctx).set_user_active(caller(ctx)?, id, true).await;
        UserStatusPayload::from_result(input.client_mutation_id, result, User::from)
    }

    /// Replaces a user's roles. Needs ROLES FULL and USERS READ; no role may grant more than the
    /// caller's own roles do, and the account keeps at least one active admin.
    async fn assign_roles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user and the roles they will hold.")] input: AssignRolesInput,
    ) -> async_graphql::Result<AssignRolesPayload> {
        let id = decode_typed(&input.user_id, USER)?;
        let roles = decode_all::<RoleId>(&input.role_ids, ROLE)?;
        let result = services(ctx).assign_roles(caller(ctx)?, id, roles).await;
        AssignRolesPayload::from_result(input.client_mutation_id, result, User::from)
    }
}
