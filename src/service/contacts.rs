//! Integration contacts (permission area INTEGRATION_CONTACTS): for every integration of the
//! catalog, connected or not, the people who receive its technical notices. READ shows them;
//! FULL adds, replaces, removes, and creates non-login contacts (with USER_PII FULL for their
//! email and phone). A person can be the contact of many integrations; adding twice is harmless.

use std::sync::Arc;

use sea_orm::{ActiveValue::Set, IntoActiveModel};
use serde_json::json;

use super::audit::{Actor, Event};
use super::users::{NewUserInput, constraint_rejection, validate_new};
use super::{Rejections, Services};
use crate::auth::principal::AccountUser;
use crate::domain::catalog::Integration;
use crate::domain::ids::UserId;
use crate::domain::permission::{Area, Level};
use crate::domain::user::{UserKind, UserStatus};
use crate::domain::values::Username;
use crate::error::{AppError, AppResult, UserError};
use crate::store::entities::user;
use crate::store::{self, Conn, begin_write};

/// A new non-login contact.
#[derive(Clone, Debug, Default)]
pub struct NewContact {
    pub name: String,
    pub email: String,
    pub preferred_language: String,
    pub phone: Option<String>,
    pub title: Option<String>,
    pub is_distribution_list: bool,
    pub integration_keys: Vec<String>,
}

fn unknown_integration(field: &[&str], key: &str) -> UserError {
    UserError::new(
        field,
        "UNKNOWN_INTEGRATION",
        format!("no integration `{key}` in the catalog"),
    )
}

impl Services {
    fn catalog_entry(&self, key: &str) -> AppResult<Arc<Integration>> {
        self.catalog.get(key).cloned().ok_or_else(|| {
            AppError::rejected(unknown_integration(&["input", "integrationKey"], key))
        })
    }

    /// Users of the account among `ids`, or a userError naming the missing ones.
    async fn contact_users(
        &self,
        conn: &impl Conn,
        caller: &AccountUser,
        ids: &[UserId],
        field: &[&str],
    ) -> AppResult<()> {
        let found = store::users::by_ids(conn, caller.account_id, ids).await?;
        if ids.iter().any(|id| !found.contains_key(id)) {
            return Err(AppError::rejected(UserError::new(
                field,
                "UNKNOWN_USER",
                "a user does not exist in the account",
            )));
        }
        Ok(())
    }

    async fn record_contacts(
        &self,
        conn: &impl Conn,
        caller: &AccountUser,
        action: &'static str,
        key: &str,
        users: &[UserId],
    ) -> AppResult<()> {
        self.record(
            conn,
            Some(caller.account_id),
            &Actor::user(caller),
            Event {
                action,
                target_type: "Integration",
                target_id: Some(key.to_owned()),
                details: json!({ "userIds": users.iter().map(ToString::to_string).collect::<Vec<_>>() }),
                pii: None,
            },
        )
        .await
    }

    /// Makes a user (login or not) a contact of an integration.
    pub async fn add_integration_contact(
        &self,
        caller: &AccountUser,
        key: &str,
        user: UserId,
    ) -> AppResult<Arc<Integration>> {
        caller.require(Area::IntegrationContacts, Level::Full)?;
        let entry = self.catalog_entry(key)?;
        let txn = begin_write(&self.db).await?;
        self.contact_users(&txn, caller, &[user], &["input", "userId"])
            .await?;
        if store::contacts::add(&txn, caller.account_id, key, user, self.clock.now()).await? {
            self.record_contacts(&txn, caller, "integration_contact.added", key, &[user])
                .await?;
        }
        txn.commit().await?;
        Ok(entry)
    }

    /// Replaces the whole list of an integration's contacts.
    pub async fn set_integration_contacts(
        &self,
        caller: &AccountUser,
        key: &str,
        users: Vec<UserId>,
    ) -> AppResult<Arc<Integration>> {
        caller.require(Area::IntegrationContacts, Level::Full)?;
        let entry = self.catalog_entry(key)?;
        let mut users = users;
        users.sort();
        users.dedup();
        let txn = begin_write(&self.db).await?;
        self.contact_users(&txn, caller, &users, &["input", "userIds"])
            .await?;
        store::contacts::clear(&txn, caller.account_id, key).await?;
        let now = self.clock.now();
        for user in &users {
            store::contacts::add(&txn, caller.account_id, key, *user, now).await?;
        }
        self.record_contacts(&txn, caller, "integration_contacts.set", key, &users)
            .await?;
        txn.commit().await?;
        Ok(entry)
    }

    /// Removes one contact of an integration (a no-op when they were not one).
    pub async fn remove_integration_contact(
        &self,
        caller: &AccountUser,
        key: &str,
        user: UserId,
    ) -> AppResult<Arc<Integration>> {
        caller.require(Area::IntegrationContacts, Level::Full)?;
        let entry = self.catalog_entry(key)?;
        let txn = begin_write(&self.db).await?;
        if store::contacts::remove(&txn, caller.account_id, key, user).await? {
            self.record_contacts(&txn, caller, "integration_contact.removed", key, &[user])
                .await?;
        }
        txn.commit().await?;
        Ok(entry)
    }

    /// Creates a non-login contact and, in the same transaction, makes it the contact of the
    /// given integrations.
    pub async fn create_contact(
        &self,
        caller: &AccountUser,
        new: NewContact,
    ) -> AppResult<user::Model> {
        caller.require_all(&[
            (Area::IntegrationContacts, Level::Full),
            (Area::UserPii, Level::Full),
        ])?;
        let mut rejections = Rejections::default();
        for key in &new.integration_keys {
            if self.catalog.get(key).is_none() {
                rejections.push(unknown_integration(&["input", "integrationKeys"], key));
            }
        }
        let valid = validate_new(&NewUserInput {
            kind: Some(UserKind::NonLogin),
            status: Some(UserStatus::Active),
            display_name: Some(new.name.clone()),
            email: Some(new.email.clone()),
            phone: new.phone.clone(),
            preferred_language: Some(new.preferred_language.clone()),
            title: new.title.clone(),
            is_distribution_list: new.is_distribution_list,
            ..NewUserInput::default()
        })
        .map_err(|error| rename_field(error, "displayName", "name"));
        let valid = match (valid, rejections.finish()) {
            (Ok(valid), Ok(())) => valid,
            (Err(AppError::Rejected(mut a)), Err(AppError::Rejected(b))) => {
                a.extend(b);
                return Err(AppError::Rejected(a));
            }
            (Err(error), _) | (_, Err(error)) => return Err(error),
        };
        let txn = begin_write(&self.db).await?;
        let contact = self.insert_user(&txn, caller.account_id, valid).await?;
        let now = self.clock.now();
        let mut keys = new.integration_keys.clone();
        keys.sort();
        keys.dedup();
        for key in &keys {
            store::contacts::add(&txn, caller.account_id, key, contact.id, now).await?;
        }
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            Event {
                action: "contact.created",
                target_type: "User",
                target_id: Some(contact.id.to_string()),
                details: json!({ "integrationKeys": keys, "isDistributionList": contact.is_distribution_list }),
                pii: Some(json!({ "name": contact.display_name, "email": contact.email, "phone": contact.phone })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(contact)
    }

    /// Turns a non-login contact into an ACTIVE login user (a seat must be free).
    pub async fn convert_to_login_user(
        &self,
        caller: &AccountUser,
        id: UserId,
        username: &str,
    ) -> AppResult<user::Model> {
        caller.require(Area::Users, Level::Full)?;
        let username = Username::parse(username).map_err(|error| {
            AppError::rejected(UserError::invalid(&["input", "username"], &error))
        })?;
        let txn = begin_write(&self.db).await?;
        let existing = store::users::find(&txn, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if existing.kind != UserKind::NonLogin {
            return Err(AppError::rejected(UserError::new(
                &["input", "id"],
                "ALREADY_LOGIN",
                "this user can already sign in",
            )));
        }
        self.check_seat_free(&txn, caller.account_id).await?;
        let mut model = existing.into_active_model();
        model.kind = Set(UserKind::Login);
        model.status = Set(UserStatus::Active);
        model.username_key = Set(Some(username.key()));
        model.username = Set(Some(username.into_inner()));
        model.updated_at = Set(self.clock.now());
        let updated = store::users::update(&txn, model)
            .await
            .map_err(constraint_rejection)?;
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            Event {
                action: "contact.converted_to_login_user",
                target_type: "User",
                target_id: Some(id.to_string()),
                details: json!({ "username": updated.username }),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }
}

/// `createContact` calls the display name `name`.
fn rename_field(error: AppError, from: &str, to: &str) -> AppError {
    match error {
        AppError::Rejected(errors) => AppError::Rejected(
            errors
                .into_iter()
                .map(|mut e| {
                    for part in &mut e.field {
                        if part == from {
                            *part = to.to_owned();
                        }
                    }
                    e
                })
                .collect(),
        ),
        other => other,
    }
}
