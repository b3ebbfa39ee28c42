use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object};

use crate::domain::ids::GroupId;
use crate::error::AppError;
use crate::graphql::context::{caller, max_page, services};
use crate::graphql::loaders::prime_user_relations;
use crate::graphql::relay::{self, CursorScope, PageArgs, TotalCount};
use crate::graphql::types::directory::GROUP;
use crate::graphql::types::enums::{UserKind, UserStatus, UserType};
use crate::graphql::types::user::{USER, User};
use crate::graphql::types::user_view::{USER_VIEW, UserView};
use crate::service::Services;
use crate::store::users::{UserFilter, UserOrder};

/// Which users to list. All conditions must hold.
#[derive(InputObject, Default, Clone)]
pub struct UserFilterInput {
    /// Any of these statuses.
    #[graphql(validator(max_items = 10))]
    pub statuses: Option<Vec<UserStatus>>,
    /// Any of these kinds.
    #[graphql(validator(max_items = 10))]
    pub kinds: Option<Vec<UserKind>>,
    /// Any of these user types.
    #[graphql(validator(max_items = 10))]
    pub user_types: Option<Vec<UserType>>,
    /// Members of this group.
    pub group_id: Option<ID>,
    /// Users linked to a record of any of these external sources (e.g. `intercom`).
    #[graphql(validator(max_items = 10))]
    pub sources: Option<Vec<String>>,
    /// Text in the username or names, and in the email for callers who may read USER_PII.
    #[graphql(validator(max_length = 200))]
    pub text: Option<String>,
}

/// How to order users; ties are broken by id.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UserOrderBy {
    /// Username, case-insensitive (users without one last).
    #[default]
    Username,
    /// Display name (users without one last).
    DisplayName,
    /// Oldest first.
    CreatedAt,
}

impl UserFilterInput {
    pub fn into_filter(self) -> crate::error::AppResult<UserFilter> {
        let group_id = self
            .group_id
            .map(|id| relay::decode_typed::<GroupId>(&id, GROUP))
            .transpose()
            .map_err(|_| crate::error::AppError::BadInput("`groupId` is not a group id".into()))?;
        Ok(UserFilter {
            statuses: self
                .statuses
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            kinds: self
                .kinds
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            user_types: self
                .user_types
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            group_id,
            sources: self.sources.unwrap_or_default(),
            text: self.text,
            text_matches_email: false,
        })
    }

    /// A stable text of the filter, so a cursor cannot be reused with another filter.
    fn fingerprint(&self) -> String {
        format!(
            "{:?}{:?}{:?}{:?}{:?}{:?}",
            self.statuses,
            self.kinds,
            self.user_types,
            self.group_id.as_deref(),
            self.sources,
            self.text
        )
    }
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The account's users (login users and non-login contacts). Needs USERS READ.
    #[graphql(complexity = "relay::page_complexity(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which users to list; every user of the account when omitted.")]
        filter: Option<UserFilterInput>,
        #[graphql(
            desc = "List the users of this saved view instead; cannot be combined with \
                          `filter`."
        )]
        view_id: Option<ID>,
        #[graphql(desc = "The order; USERNAME when omitted.")] order_by: Option<UserOrderBy>,
        #[graphql(
            desc = "How many items to return from the start, or after `after`: 1 to the maximum \
                   page size (100 by default); 20 when neither `first` nor `last` is given. \
                   Cannot be combined with `last`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this edge `cursor`, taken from this list with the same arguments."
        )]
        after: Option<String>,
        #[graphql(
            desc = "How many items to return from the end, or before `before`: 1 to the maximum \
                   page size (100 by default). Cannot be combined with `first`."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "End before this edge `cursor`, taken from this list with the same arguments."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, User, TotalCount>> {
        let caller = caller(ctx)?.clone();
        let services = services(ctx).clone();
        let order_by = order_by.unwrap_or_default();
        let (filter, fingerprint) = match (filter, view_id) {
            (Some(_), Some(_)) => {
                return Err(
                    AppError::BadInput("give `filter` or `viewId`, not both".into()).into(),
                );
            }
            (filter, None) => {
                let input = filter.unwrap_or_default();
                let fingerprint = input.fingerprint();
                (input.into_filter()?, fingerprint)
            }
            (None, Some(id)) => {
                let view = services
                    .user_view(&caller, relay::decode_typed(&id, USER_VIEW)?)
                    .await?;
                // A changed view starts its cursors afresh.
                let fingerprint = format!("{id:?}{}", view.updated_at.timestamp_micros());
                (Services::view_filter(&view), fingerprint)
            }
        };
        let scope = CursorScope {
            list: "users",
            ordering: format!("{order_by:?}{fingerprint}"),
            account: Some(caller.account_id),
        };
        let order = match order_by {
            UserOrderBy::Username => UserOrder::Username,
            UserOrderBy::DisplayName => UserOrder::DisplayName,
            UserOrderBy::CreatedAt => UserOrder::CreatedAt,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let window = relay::window(&args, &scope, max_page(ctx), || {
            services.users_count(&caller, filter.clone())
        })
        .await?;
        let users = services
            .users(
                &caller,
                filter.clone(),
                order,
                window.offset,
                window.limit + 1,
            )
            .await?;
        let page: Vec<_> = users
            .iter()
            .take(window.limit as usize)
            .map(|u| u.id)
            .collect();
        prime_user_relations(ctx, &page).await?;
        let total = TotalCount::new(move || {
            let (services, caller, filter) = (services.clone(), caller.clone(), filter.clone());
            async move { services.users_count(&caller, filter).await }
        });
        Ok(relay::connection(
            &scope,
            window,
            users.into_iter().map(User::from).collect(),
            total,
        ))
    }

    /// The account's saved user views, by name. Needs USERS READ.
    #[graphql(complexity = "relay::page_complexity(first, last, child_complexity)")]
    async fn user_views(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "How many items to return from the start, or after `after`: 1 to the maximum \
                   page size (100 by default); 20 when neither `first` nor `last` is given. \
                   Cannot be combined with `last`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this edge `cursor`, taken from this list with the same arguments."
        )]
        after: Option<String>,
        #[graphql(
            desc = "How many items to return from the end, or before `before`: 1 to the maximum \
                   page size (100 by default). Cannot be combined with `first`."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "End before this edge `cursor`, taken from this list with the same arguments."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, UserView, TotalCount>> {
        let caller = caller(ctx)?;
        let views = services(ctx).user_views(caller).await?;
        let scope = CursorScope {
            list: "userViews",
            ordering: "NAME".into(),
            account: Some(caller.account_id),
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let views = views.into_iter().map(UserView).collect();
        Ok(relay::connection_from_vec(&args, &scope, max_page(ctx), views).await?)
    }

    /// One saved user view by global id. Needs USERS READ.
    async fn user_view(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The view's global id. Any other id is NOT_FOUND.")] id: ID,
    ) -> async_graphql::Result<Option<UserView>> {
        let id = relay::decode_typed(&id, USER_VIEW)?;
        Ok(Some(UserView(
            services(ctx).user_view(caller(ctx)?, id).await?,
        )))
    }

    /// One user by global id. Needs USERS READ.
    async fn user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's global id. Any other id is NOT_FOUND.")] id: ID,
    ) -> async_graphql::Result<Option<User>> {
        let id = relay::decode_typed(&id, USER)?;
        Ok(Some(User::from(
            services(ctx).user(caller(ctx)?, id).await?,
        )))
    }
}
