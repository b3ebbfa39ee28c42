//! Groups and skills: named resources of an account that users belong to. Reading them needs
//! USERS READ; changing them, USERS FULL.

use serde_json::json;
use uuid::Uuid;

use super::Services;
use super::audit::{Actor, Event};
use crate::auth::principal::AccountUser;
use crate::domain::permission::{Area, Level};
use crate::domain::values::Name;
use crate::error::{AppError, AppResult, UserError};
use crate::store::constraint::{Violation, classify};
use crate::store::entities::{group, skill};
use crate::store::named::{Named, NamedRecord};
use crate::store::{self, begin_write};

/// Which directory resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Directory {
    Groups,
    Skills,
}

impl Directory {
    fn noun(self) -> &'static str {
        match self {
            Directory::Groups => "Group",
            Directory::Skills => "Skill",
        }
    }
}

impl Services {
    pub async fn directory_list(
        &self,
        caller: &AccountUser,
        kind: Directory,
    ) -> AppResult<Vec<NamedRecord>> {
        caller.require(Area::Users, Level::Read)?;
        let account = caller.account_id;
        Ok(match kind {
            Directory::Groups => store::named::list::<group::Entity>(&self.db, account).await?,
            Directory::Skills => store::named::list::<skill::Entity>(&self.db, account).await?,
        })
    }

    pub async fn directory_find(
        &self,
        caller: &AccountUser,
        kind: Directory,
        id: Uuid,
    ) -> AppResult<NamedRecord> {
        caller.require(Area::Users, Level::Read)?;
        let account = caller.account_id;
        let found = match kind {
            Directory::Groups => store::named::find::<group::Entity>(&self.db, account, id).await?,
            Directory::Skills => store::named::find::<skill::Entity>(&self.db, account, id).await?,
        };
        found.ok_or(AppError::NotFound)
    }

    /// Creates (no `id`) or renames a group or skill.
    pub async fn directory_save(
        &self,
        caller: &AccountUser,
        kind: Directory,
        id: Option<Uuid>,
        name: &str,
        description: Option<String>,
    ) -> AppResult<NamedRecord> {
        caller.require(Area::Users, Level::Full)?;
        let name = Name::parse(name, "name", 100)
            .map_err(|error| AppError::rejected(UserError::invalid(&["input", "name"], &error)))?;
        let txn = begin_write(&self.db).await?;
        let record = match kind {
            Directory::Groups => {
                self.save::<group::Entity>(&txn, caller, id, &name, description)
                    .await
            }
            Directory::Skills => {
                self.save::<skill::Entity>(&txn, caller, id, &name, description)
                    .await
            }
        }
        .map_err(|error| match error {
            AppError::Database(db) => match classify(&db) {
                Some(Violation::GroupNameTaken | Violation::SkillNameTaken) => {
                    AppError::rejected(UserError::new(
                        &["input", "name"],
                        "NAME_TAKEN",
                        format!(
                            "a {} with this name already exists",
                            kind.noun().to_lowercase()
                        ),
                    ))
                }
                _ => AppError::Database(db),
            },
            other => other,
        })?;
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            Event {
                action: match (kind, id.is_some()) {
                    (Directory::Groups, false) => "group.created",
                    (Directory::Groups, true) => "group.updated",
                    (Directory::Skills, false) => "skill.created",
                    (Directory::Skills, true) => "skill.updated",
                },
                target_type: kind.noun(),
                target_id: Some(record.id.to_string()),
                details: json!({ "name": record.name }),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(record)
    }

    async fn save<E: Named>(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        caller: &AccountUser,
        id: Option<Uuid>,
        name: &Name,
        description: Option<String>,
    ) -> AppResult<NamedRecord> {
        let account = caller.account_id;
        let now = self.clock.now();
        match id {
            None => {
                let record = NamedRecord {
                    id: Uuid::new_v4(),
                    name: name.as_str().to_owned(),
                    description,
                    created_at: now,
                };
                store::named::insert::<E>(txn, account, &record).await?;
                Ok(record)
            }
            Some(id) => {
                let updated = store::named::update::<E>(
                    txn,
                    account,
                    id,
                    name.as_str(),
                    description.as_deref(),
                    now,
                )
                .await?;
                if !updated {
                    return Err(AppError::NotFound);
                }
                store::named::find::<E>(txn, account, id)
                    .await?
                    .ok_or(AppError::NotFound)
            }
        }
    }
}
