//! Queues and lines: telephony resources of an account. Reading them needs USERS READ; changing
//! them, USERS FULL (as for groups and skills). A user's access to them is set with `updateUser`
//! and copied from a template by bulk jobs.

use serde_json::json;

use super::Services;
use super::audit::{Actor, Event};
use crate::auth::principal::AccountUser;
use crate::domain::ids::TelephonyResourceId;
use crate::domain::permission::{Area, Level};
use crate::domain::telephony::ResourceKind;
use crate::domain::values::Name;
use crate::error::{AppError, AppResult, UserError};
use crate::store::constraint::{Violation, classify};
use crate::store::entities::telephony_resource as resource;
use crate::store::{self, begin_write};

/// What to save: a new resource (with its kind) or new name and description for one.
pub enum ResourceChange {
    Create(ResourceKind),
    Update(TelephonyResourceId),
}

impl Services {
    pub async fn telephony_resources(
        &self,
        caller: &AccountUser,
        kind: Option<ResourceKind>,
    ) -> AppResult<Vec<resource::Model>> {
        caller.require(Area::Users, Level::Read)?;
        Ok(store::telephony::list(&self.db, caller.account_id, kind).await?)
    }

    pub async fn telephony_resource(
        &self,
        caller: &AccountUser,
        id: TelephonyResourceId,
    ) -> AppResult<resource::Model> {
        caller.require(Area::Users, Level::Read)?;
        store::telephony::find(&self.db, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Creates a queue or line, or renames one; names are unique per account and kind.
    pub async fn save_telephony_resource(
        &self,
        caller: &AccountUser,
        change: ResourceChange,
        name: &str,
        description: Option<String>,
    ) -> AppResult<resource::Model> {
        caller.require(Area::Users, Level::Full)?;
        let name = Name::parse(name, "name", 100)
            .map_err(|error| AppError::rejected(UserError::invalid(&["input", "name"], &error)))?;
        let account = caller.account_id;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let (written, action) = match change {
            ResourceChange::Create(kind) => {
                let model = resource::Model {
                    id: TelephonyResourceId::new(),
                    account_id: account,
                    kind,
                    name: name.as_str().to_owned(),
                    name_key: name.as_str().to_lowercase(),
                    description,
                    created_at: now,
                    updated_at: now,
                };
                let id = model.id;
                (
                    store::telephony::insert(&txn, model).await.map(|()| id),
                    "telephony_resource.created",
                )
            }
            ResourceChange::Update(id) => {
                let updated = store::telephony::update(
                    &txn,
                    account,
                    id,
                    name.as_str(),
                    description.as_deref(),
                    now,
                )
                .await;
                match updated {
                    Ok(false) => return Err(AppError::NotFound),
                    other => (other.map(|_| id), "telephony_resource.updated"),
                }
            }
        };
        let id = written.map_err(|error| match classify(&error) {
            Some(Violation::TelephonyResourceNameTaken) => AppError::rejected(UserError::new(
                &["input", "name"],
                "NAME_TAKEN",
                "a queue or line of this kind with this name already exists",
            )),
            _ => AppError::Database(error),
        })?;
        let saved = store::telephony::find(&txn, account, id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            Event {
                action,
                target_type: "TelephonyResource",
                target_id: Some(id.to_string()),
                details: json!({ "kind": saved.kind.noun(), "name": saved.name }),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(saved)
    }
}
