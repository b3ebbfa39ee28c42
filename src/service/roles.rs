//! Roles and their grants. The built-in Account Admin role is FULL everywhere and cannot be edited
//! or deleted; no caller can create or edit a role that grants more than they hold.

use sea_orm::{ActiveValue::Set, IntoActiveModel};
use serde_json::json;

use super::audit::{Actor, Event};
use super::{Rejections, Services};
use crate::auth::principal::AccountUser;
use crate::domain::ids::{AccountId, RoleId};
use crate::domain::permission::{Area, Grants, Level};
use crate::domain::values::Name;
use crate::error::{AppError, AppResult, UserError};
use crate::store::constraint::{Violation, classify};
use crate::store::entities::role;
use crate::store::{self, Conn, begin_write};

/// A role with its grants.
#[derive(Clone, Debug)]
pub struct RoleWithGrants {
    pub role: role::Model,
    pub grants: Grants,
}

/// The name of the built-in role.
pub const ACCOUNT_ADMIN: &str = "Account Admin";

fn name_taken(error: sea_orm::DbErr) -> AppError {
    match classify(&error) {
        Some(Violation::RoleNameTaken) => AppError::rejected(UserError::new(
            &["input", "name"],
            "NAME_TAKEN",
            "a role with this name already exists in the account",
        )),
        _ => AppError::Database(error),
    }
}

fn built_in() -> AppError {
    AppError::rejected(UserError::new(
        &["input", "id"],
        "BUILT_IN_ROLE",
        "the Account Admin role cannot be changed or deleted",
    ))
}

impl Services {
    /// Creates the built-in admin role of a new account.
    pub(super) async fn insert_admin_role(
        &self,
        conn: &impl Conn,
        account: AccountId,
    ) -> AppResult<role::Model> {
        let now = self.clock.now();
        Ok(store::roles::insert(
            conn,
            role::ActiveModel {
                id: Set(RoleId::new()),
                account_id: Set(account),
                name: Set(ACCOUNT_ADMIN.to_owned()),
                name_key: Set(ACCOUNT_ADMIN.to_lowercase()),
                description: Set(Some("Full access to everything in the account.".to_owned())),
                is_account_admin: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
            },
        )
        .await?)
    }

    pub async fn roles(&self, caller: &AccountUser) -> AppResult<Vec<RoleWithGrants>> {
        caller.require(Area::Roles, Level::Read)?;
        let roles = store::roles::list(&self.db, caller.account_id).await?;
        let mut grants = store::roles::grants_by_roles(&self.db, caller.account_id, &roles).await?;
        Ok(roles
            .into_iter()
            .map(|role| RoleWithGrants {
                grants: grants.remove(&role.id).unwrap_or_default(),
                role,
            })
            .collect())
    }

    pub async fn role(&self, caller: &AccountUser, id: RoleId) -> AppResult<RoleWithGrants> {
        caller.require(Area::Roles, Level::Read)?;
        let role = store::roles::find(&self.db, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut grants =
            store::roles::grants_by_roles(&self.db, caller.account_id, std::slice::from_ref(&role))
                .await?;
        Ok(RoleWithGrants {
            grants: grants.remove(&role.id).unwrap_or_default(),
            role,
        })
    }

    fn check_no_escalation(caller: &AccountUser, grants: &Grants) -> AppResult<()> {
        if grants.is_within(&caller.effective()) {
            Ok(())
        } else {
            Err(AppError::ForbiddenBecause(
                "a role cannot grant more than your own roles do",
            ))
        }
    }

    pub async fn create_role(
        &self,
        caller: &AccountUser,
        name: &str,
        description: Option<String>,
        grants: Grants,
    ) -> AppResult<RoleWithGrants> {
        caller.require(Area::Roles, Level::Full)?;
        Self::check_no_escalation(caller, &grants)?;
        let mut rejections = Rejections::default();
        let name = rejections.check(&["input", "name"], Name::parse(name, "role name", 100));
        rejections.finish()?;
        let name = name.ok_or(AppError::Internal("validated name missing".into()))?;
        let account = caller.account_id;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let role = store::roles::insert(
            &txn,
            role::ActiveModel {
                id: Set(RoleId::new()),
                account_id: Set(account),
                name_key: Set(name.key()),
                name: Set(name.into_inner()),
                description: Set(description),
                is_account_admin: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
            },
        )
        .await
        .map_err(name_taken)?;
        store::roles::replace_grants(&txn, account, role.id, &grants).await?;
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            role_event("role.created", &role, &grants),
        )
        .await?;
        txn.commit().await?;
        Ok(RoleWithGrants { role, grants })
    }

    /// A role the caller may change: in their account, not built in, and granting nothing they
    /// lack (editing a role you could not have created is escalation too).
    async fn editable_role(
        &self,
        txn: &impl Conn,
        caller: &AccountUser,
        id: RoleId,
    ) -> AppResult<RoleWithGrants> {
        let role = store::roles::find(txn, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if role.is_account_admin {
            return Err(built_in());
        }
        let grants =
            store::roles::grants_by_roles(txn, caller.account_id, std::slice::from_ref(&role))
                .await?
                .remove(&id)
                .unwrap_or_default();
        Self::check_no_escalation(caller, &grants)?;
        Ok(RoleWithGrants { role, grants })
    }

    pub async fn update_role(
        &self,
        caller: &AccountUser,
        id: RoleId,
        name: Option<&str>,
        description: Option<Option<String>>,
        grants: Option<Grants>,
    ) -> AppResult<RoleWithGrants> {
        caller.require(Area::Roles, Level::Full)?;
        if let Some(grants) = &grants {
            Self::check_no_escalation(caller, grants)?;
        }
        let mut rejections = Rejections::default();
        let name = name.and_then(|name| {
            rejections.check(&["input", "name"], Name::parse(name, "role name", 100))
        });
        rejections.finish()?;
        let account = caller.account_id;
        let txn = begin_write(&self.db).await?;
        let RoleWithGrants {
            role: existing,
            grants: current,
        } = self.editable_role(&txn, caller, id).await?;
        let mut model = existing.into_active_model();
        if let Some(name) = name {
            model.name_key = Set(name.key());
            model.name = Set(name.into_inner());
        }
        if let Some(description) = description {
            model.description = Set(description);
        }
        model.updated_at = Set(self.clock.now());
        let role = store::roles::update(&txn, model)
            .await
            .map_err(name_taken)?;
        let grants = match grants {
            Some(grants) => {
                store::roles::replace_grants(&txn, account, id, &grants).await?;
                grants
            }
            None => current,
        };
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            role_event("role.updated", &role, &grants),
        )
        .await?;
        txn.commit().await?;
        Ok(RoleWithGrants { role, grants })
    }

    pub async fn delete_role(&self, caller: &AccountUser, id: RoleId) -> AppResult<RoleId> {
        caller.require(Area::Roles, Level::Full)?;
        let account = caller.account_id;
        let txn = begin_write(&self.db).await?;
        let RoleWithGrants {
            role: existing,
            grants,
        } = self.editable_role(&txn, caller, id).await?;
        store::roles::delete(&txn, account, id).await?;
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            role_event("role.deleted", &existing, &grants),
        )
        .await?;
        txn.commit().await?;
        Ok(id)
    }
}

fn role_event(action: &'static str, role: &role::Model, grants: &Grants) -> Event {
    let grants: serde_json::Map<String, serde_json::Value> = grants
        .iter()
        .filter(|(_, level)| *level != Level::None)
        .map(|(area, level)| (area.as_str().to_owned(), json!(level.as_str())))
        .collect();
    Event {
        action,
        target_type: "Role",
        target_id: Some(role.id.to_string()),
        details: json!({ "name": role.name, "grants": grants }),
        pii: None,
    }
}
