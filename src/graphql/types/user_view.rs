use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use super::directory::{GROUP, Group};
use super::enums::{UserKind, UserStatus, UserType};
use crate::error::AppError;
use crate::graphql::context::{caller, services};
use crate::graphql::relay::encode_id;
use crate::service::Services;
use crate::service::directory::Directory;
use crate::store::entities::user_view as view;
use crate::store::users::UserFilter;

pub const USER_VIEW: &str = "UserView";

/// A saved filter over the account's users.
#[derive(Clone)]
pub struct UserView(pub view::Model);

/// A saved filter over the account's users, shared in the account: list its users with
/// `users(viewId:)`, or make users from them with `createUsersFromTemplate(input: {userViewId})`.
/// Needs USERS READ.
#[Object]
impl UserView {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(USER_VIEW, &self.0.id.to_string())
    }
    /// Unique in the account in any letter case; at most 100 characters.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Which users the view shows.
    async fn filter(&self) -> UserViewFilter {
        UserViewFilter(Services::view_filter(&self.0))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The conditions of a view; all must hold, and an empty list means any.
pub struct UserViewFilter(pub UserFilter);

#[Object]
impl UserViewFilter {
    async fn statuses(&self) -> Vec<UserStatus> {
        self.0.statuses.iter().map(|s| (*s).into()).collect()
    }
    async fn kinds(&self) -> Vec<UserKind> {
        self.0.kinds.iter().map(|k| (*k).into()).collect()
    }
    async fn user_types(&self) -> Vec<UserType> {
        self.0.user_types.iter().map(|t| (*t).into()).collect()
    }
    /// Members of this group; null when the view names none.
    async fn group_id(&self) -> Option<ID> {
        self.0.group_id.map(|g| encode_id(GROUP, &g.to_string()))
    }
    /// The group itself; null when the view names none or it no longer exists.
    async fn group(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Group>> {
        let Some(group) = self.0.group_id else {
            return Ok(None);
        };
        match services(ctx)
            .directory_find(caller(ctx)?, Directory::Groups, group.0)
            .await
        {
            Ok(found) => Ok(Some(Group(found))),
            Err(AppError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }
    /// Users linked to a record of any of these external sources (e.g. `intercom`).
    async fn sources(&self) -> &[String] {
        &self.0.sources
    }
    /// Text in the username or names (and email, for callers who may read USER_PII).
    async fn text(&self) -> Option<&str> {
        self.0.text.as_deref()
    }
}
