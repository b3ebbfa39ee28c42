use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::domain::ids::RoleId;
use crate::domain::permission::Grants;
use crate::graphql::context::{caller, services};
use crate::graphql::relay::{decode_typed, encode_id};
use crate::graphql::types::enums::{PermissionArea, PermissionLevel};
use crate::graphql::types::payload::payload;
use crate::graphql::types::role::{ROLE, Role};
use crate::service::roles::RoleWithGrants;

/// An area's level in a role; areas not listed are NONE.
#[derive(InputObject, Clone, Copy)]
pub struct GrantInput {
    /// The permission area.
    pub area: PermissionArea,
    /// The level granted in that area.
    pub level: PermissionLevel,
}

fn grants(input: &[GrantInput]) -> Grants {
    let mut grants = Grants::default();
    for grant in input {
        grants.set(grant.area.into(), grant.level.into());
    }
    grants
}

/// A new role.
#[derive(InputObject)]
pub struct CreateRoleInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// Unique in the account in any letter case; 1 to 100 characters after trimming.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The level of each area; areas not listed are NONE. At most 50 entries.
    #[graphql(validator(max_items = 50))]
    pub grants: Vec<GrantInput>,
}

/// Changes to a role; omitted fields stay.
#[derive(InputObject)]
pub struct UpdateRoleInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The role's global id.
    pub id: ID,
    /// The new name: unique in the account in any letter case; 1 to 100 characters after trimming.
    pub name: Option<String>,
    /// The new description; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// Replaces every grant when given (areas not listed become NONE). At most 50 entries.
    #[graphql(validator(max_items = 50))]
    pub grants: Option<Vec<GrantInput>>,
}

/// Names a role.
#[derive(InputObject)]
pub struct DeleteRoleInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The role's global id.
    pub id: ID,
}

payload!(
    /// The role created or changed.
    RolePayload { role: Role }
);
payload!(
    /// The id of the deleted role.
    DeleteRolePayload { deleted_role_id: ID }
);

fn role(role: RoleWithGrants) -> Role {
    Role::with_grants(role.role, role.grants)
}

#[derive(Default)]
pub struct RoleMutation;

#[Object]
impl RoleMutation {
    /// Creates a role. Needs ROLES FULL; its grants cannot exceed the caller's effective levels
    /// (FORBIDDEN otherwise).
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role to create.")] input: CreateRoleInput,
    ) -> async_graphql::Result<RolePayload> {
        let result = services(ctx)
            .create_role(
                caller(ctx)?,
                &input.name,
                input.description,
                grants(&input.grants),
            )
            .await;
        RolePayload::from_result(input.client_mutation_id, result, role)
    }

    /// Changes a role. Needs ROLES FULL; neither its current nor its new grants may exceed the
    /// caller's effective levels. The built-in Account Admin role cannot be changed.
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role and the changes.")] input: UpdateRoleInput,
    ) -> async_graphql::Result<RolePayload> {
        let id: RoleId = decode_typed(&input.id, ROLE)?;
        let description = match input.description {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(value) => Some(Some(value)),
        };
        let result = services(ctx)
            .update_role(
                caller(ctx)?,
                id,
                input.name.as_deref(),
                description,
                input.grants.as_deref().map(grants),
            )
            .await;
        RolePayload::from_result(input.client_mutation_id, result, role)
    }

    /// Deletes a role and its assignments. Needs ROLES FULL; its grants may not exceed the caller's
    /// effective levels. The built-in Account Admin role cannot be deleted.
    async fn delete_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role to delete.")] input: DeleteRoleInput,
    ) -> async_graphql::Result<DeleteRolePayload> {
        let id: RoleId = decode_typed(&input.id, ROLE)?;
        let result = services(ctx).delete_role(caller(ctx)?, id).await;
        DeleteRolePayload::from_result(input.client_mutation_id, result, |id| {
            encode_id(ROLE, &id.to_string())
        })
    }
}
