use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::ids::UserViewId;
use crate::graphql::context::{caller, services};
use crate::graphql::query::users::UserFilterInput;
use crate::graphql::relay::{decode_typed, encode_id};
use crate::graphql::types::payload::payload;
use crate::graphql::types::user_view::{USER_VIEW, UserView};

/// A new saved view.
#[derive(InputObject)]
pub struct CreateUserViewInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// 1 to 100 characters; unique in the account in any letter case.
    pub name: String,
    /// Which users the view shows (`text` as typed: it matches emails only for callers who may
    /// read USER_PII).
    pub filter: UserFilterInput,
}

/// A view's new name and filter.
#[derive(InputObject)]
pub struct UpdateUserViewInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The view's global id.
    pub id: ID,
    /// 1 to 100 characters; unique in the account in any letter case.
    pub name: String,
    /// Replaces the view's filter.
    pub filter: UserFilterInput,
}

/// Names a view.
#[derive(InputObject)]
pub struct DeleteUserViewInput {
    /// Any string; echoed unchanged in the payload.
    pub client_mutation_id: Option<String>,
    /// The view's global id.
    pub id: ID,
}

payload!(
    /// The view created or changed.
    UserViewPayload { user_view: UserView }
);
payload!(
    /// The id of the deleted view.
    DeleteUserViewPayload { deleted_user_view_id: ID }
);

#[derive(Default)]
pub struct UserViewMutation;

#[Object]
impl UserViewMutation {
    /// Saves a filter over the account's users as a named view. Needs USERS FULL.
    async fn create_user_view(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The view to create.")] input: CreateUserViewInput,
    ) -> async_graphql::Result<UserViewPayload> {
        let filter = input.filter.into_filter()?;
        let result = services(ctx)
            .save_user_view(caller(ctx)?, None, &input.name, filter)
            .await;
        UserViewPayload::from_result(input.client_mutation_id, result, UserView)
    }

    /// Renames a view and replaces its filter. Needs USERS FULL.
    async fn update_user_view(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The view, with its new name and filter.")] input: UpdateUserViewInput,
    ) -> async_graphql::Result<UserViewPayload> {
        let id: UserViewId = decode_typed(&input.id, USER_VIEW)?;
        let filter = input.filter.into_filter()?;
        let result = services(ctx)
            .save_user_view(caller(ctx)?, Some(id), &input.name, filter)
            .await;
        UserViewPayload::from_result(input.client_mutation_id, result, UserView)
    }

    /// Deletes a view; jobs that used it keep their rows. Needs USERS FULL.
    async fn delete_user_view(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The view to delete.")] input: DeleteUserViewInput,
    ) -> async_graphql::Result<DeleteUserViewPayload> {
        let id: UserViewId = decode_typed(&input.id, USER_VIEW)?;
        let result = services(ctx)
            .delete_user_view(caller(ctx)?, id)
            .await
            .map(|()| id);
        DeleteUserViewPayload::from_result(input.client_mutation_id, result, |id| {
            encode_id(USER_VIEW, &id.to_string())
        })
    }
}
