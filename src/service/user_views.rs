//! User views: saved filters over the account's users, shared by everyone in the account. Lists
//! (`users(viewId:)`) and bulk jobs use them. Reading needs USERS READ; saving and deleting, USERS
//! FULL.

use serde_json::json;

use super::audit::{Actor, Event};
use super::{Rejections, Services};
use crate::auth::principal::AccountUser;
use crate::domain::ids::{GroupId, UserViewId};
use crate::domain::permission::{Area, Level};
use crate::domain::values::Name;
use crate::error::{AppError, AppResult, UserError};
use crate::store::constraint::{Violation, classify};
use crate::store::entities::{group, user_view as view};
use crate::store::users::UserFilter;
use crate::store::{self, Conn, begin_write};

/// At most this many external sources in a filter.
const MAX_SOURCES: usize = 10;

impl Services {
    pub async fn user_views(&self, caller: &AccountUser) -> AppResult<Vec<view::Model>> {
        caller.require(Area::Users, Level::Read)?;
        Ok(store::user_views::list(&self.db, caller.account_id).await?)
    }

    pub async fn user_view(&self, caller: &AccountUser, id: UserViewId) -> AppResult<view::Model> {
        caller.require(Area::Users, Level::Read)?;
        store::user_views::find(&self.db, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The filter a view saves.
    pub fn view_filter(view: &view::Model) -> UserFilter {
        serde_json::from_value(view.filter.clone()).unwrap_or_default()
    }

    /// Creates a view (`id` is `None`) or replaces a view's name and filter.
    pub async fn save_user_view(
        &self,
        caller: &AccountUser,
        id: Option<UserViewId>,
        name: &str,
        filter: UserFilter,
    ) -> AppResult<view::Model> {
        caller.require(Area::Users, Level::Full)?;
        let account = caller.account_id;
        let txn = begin_write(&self.db).await?;
        let mut rejections = Rejections::default();
        let name = rejections.check(&["input", "name"], Name::parse(name, "name", 100));
        check_filter(&txn, account, &filter, &mut rejections).await?;
        rejections.finish()?;
        let name = name.expect("a name that failed to parse was rejected above");
        let now = self.clock.now();
        let filter_json = serde_json::to_value(&filter).unwrap_or_default();
        let saved = match id {
            None => {
                store::user_views::insert(
                    &txn,
                    view::Model {
                        id: UserViewId::new(),
                        account_id: account,
                        name: name.as_str().to_owned(),
                        name_key: name.as_str().to_lowercase(),
                        filter: filter_json,
                        created_by: Some(caller.user_id),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .await
            }
            Some(id) => {
                let existing = store::user_views::find(&txn, account, id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                store::user_views::update(
                    &txn,
                    view::Model {
                        name: name.as_str().to_owned(),
                        name_key: name.as_str().to_lowercase(),
                        filter: filter_json,
                        updated_at: now,
                        ..existing
                    },
                )
                .await
            }
        }
        .map_err(|error| match classify(&error) {
            Some(Violation::UserViewNameTaken) => AppError::rejected(UserError::new(
                &["input", "name"],
                "NAME_TAKEN",
                "a user view with this name already exists",
            )),
            _ => AppError::Database(error),
        })?;
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            Event {
                action: if id.is_some() {
                    "user_view.updated"
                } else {
                    "user_view.created"
                },
                target_type: "UserView",
                target_id: Some(saved.id.to_string()),
                details: json!({ "name": saved.name, "filter": saved.filter }),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(saved)
    }

    /// Deletes a view; jobs that used it keep their rows.
    pub async fn delete_user_view(&self, caller: &AccountUser, id: UserViewId) -> AppResult<()> {
        caller.require(Area::Users, Level::Full)?;
        let account = caller.account_id;
        let txn = begin_write(&self.db).await?;
        let existing = store::user_views::find(&txn, account, id)
            .await?
            .ok_or(AppError::NotFound)?;
        store::user_views::delete(&txn, account, id).await?;
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            Event {
                action: "user_view.deleted",
                target_type: "UserView",
                target_id: Some(id.to_string()),
                details: json!({ "name": existing.name }),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// A saved filter names a group of the account and sane sources.
async fn check_filter(
    conn: &impl Conn,
    account: crate::domain::ids::AccountId,
    filter: &UserFilter,
    rejections: &mut Rejections,
) -> AppResult<()> {
    if let Some(GroupId(group)) = filter.group_id
        && store::named::find::<group::Entity>(conn, account, group)
            .await?
            .is_none()
    {
        rejections.push(UserError::new(
            &["input", "filter", "groupId"],
            "UNKNOWN_GROUP",
            "the group does not exist in the account",
        ));
    }
    if filter.sources.len() > MAX_SOURCES
        || filter
            .sources
            .iter()
            .any(|s| s.trim().is_empty() || s.chars().count() > 40)
    {
        rejections.push(UserError::new(
            &["input", "filter", "sources"],
            "INVALID_SOURCE",
            format!("give at most {MAX_SOURCES} sources of 1 to 40 characters each"),
        ));
    }
    Ok(())
}
