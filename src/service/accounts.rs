//! Accounts: creation with their first admin, and the development demo account.

use serde_json::json;

use super::Services;
use super::audit::{Actor, Event};
use super::users::NewUserInput;
use crate::auth::principal::AccountUser;
use crate::domain::ids::AccountId;
use crate::domain::permission::{Grants, ScopeSet};
use crate::domain::user::{UserKind, UserStatus, UserType};
use crate::domain::values::{Name, Slug};
use crate::error::{AppError, AppResult, UserError};
use crate::store::constraint::{Violation, classify};
use crate::store::entities::{account, user};
use crate::store::user_links::Roles;
use crate::store::{self, begin_write};

/// A new account and its first admin.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub slug: String,
    pub name: String,
    pub licence_limit: i32,
    pub admin: NewUserInput,
}

/// The demo account's slug, created on a development server's first run.
pub const DEMO_SLUG: &str = "demo";

impl Services {
    /// Creates the account, its Account Admin role and its first admin (LOGIN, ACTIVE) in one
    /// transaction.
    pub async fn create_account(
        &self,
        new: NewAccount,
        actor: &Actor,
    ) -> AppResult<(account::Model, user::Model)> {
        let mut rejections = super::Rejections::default();
        let slug = rejections.check(&["input", "slug"], Slug::parse(&new.slug));
        let name = rejections.check(
            &["input", "name"],
            Name::parse(&new.name, "account name", 200),
        );
        if new.licence_limit < 1 {
            rejections.push(UserError::new(
                &["input", "licenceLimit"],
                "INVALID_LICENCE_LIMIT",
                "the licence limit is at least 1 (the first admin holds a seat)",
            ));
        }
        rejections.finish()?;
        let (Some(slug), Some(name)) = (slug, name) else {
            return Err(AppError::Internal(
                "validated account fields missing".into(),
            ));
        };
        let txn = begin_write(&self.db).await?;
        let account = store::accounts::insert(
            &txn,
            store::accounts::NewAccount {
                id: AccountId::new(),
                slug: slug.as_str(),
                name: name.as_str(),
                licence_limit: new.licence_limit,
                now: self.clock.now(),
            },
        )
        .await
        .map_err(|error| match classify(&error) {
            Some(Violation::AccountSlugTaken) => AppError::rejected(UserError::new(
                &["input", "slug"],
                "SLUG_TAKEN",
                "an account with this slug already exists",
            )),
            _ => AppError::Database(error),
        })?;
        let role = self.insert_admin_role(&txn, account.id).await?;
        let admin_input = NewUserInput {
            kind: Some(UserKind::Login),
            status: Some(UserStatus::Active),
            user_type: new.admin.user_type.or(Some(UserType::Admin)),
            ..new.admin
        };
        let admin = self
            .insert_first_admin(&txn, account.id, &admin_input)
            .await
            .map_err(nest_admin_errors)?;
        store::user_links::replace::<Roles>(&txn, account.id, admin.id, &[role.id]).await?;
        self.record(
            &txn,
            Some(account.id),
            actor,
            Event {
                action: "account.created",
                target_type: "Account",
                target_id: Some(account.id.to_string()),
                details: json!({ "slug": account.slug, "name": account.name, "licenceLimit": account.licence_limit, "adminUsername": admin.username }),
                pii: Some(json!({ "adminEmail": admin.email })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok((account, admin))
    }

    /// In development, when the database has no account yet, creates the demo account and its
    /// admin. Returns the admin when it was created now.
    pub async fn ensure_demo_account(&self) -> AppResult<Option<(account::Model, user::Model)>> {
        if store::accounts::count(&self.db).await? > 0 {
            return Ok(None);
        }
        let created = match self
            .create_account(
                NewAccount {
                    slug: DEMO_SLUG.into(),
                    name: "Demo Company".into(),
                    licence_limit: 25,
                    admin: NewUserInput {
                        username: Some("admin".into()),
                        display_name: Some("Demo Admin".into()),
                        email: Some("admin@demo.example.com".into()),
                        preferred_language: Some("en".into()),
                        ..NewUserInput::default()
                    },
                },
                &Actor::system("first-run demo"),
            )
            .await
        {
            Ok(created) => created,
            // Another replica starting at the same moment created it first.
            Err(AppError::Rejected(errors)) if errors.iter().any(|e| e.code == "SLUG_TAKEN") => {
                return Ok(None);
            }
            Err(other) => return Err(other),
        };
        Ok(Some(created))
    }

    /// The caller's own account.
    pub async fn account(&self, caller: &AccountUser) -> AppResult<account::Model> {
        store::accounts::find(&self.db, caller.account_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The caller's own user record (always readable by the caller).
    pub async fn viewer(&self, caller: &AccountUser) -> AppResult<user::Model> {
        store::users::find(&self.db, caller.account_id, caller.user_id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// Resolves an account by id or slug (for the CLI).
    pub async fn find_account(&self, id_or_slug: &str) -> AppResult<account::Model> {
        let found = match id_or_slug.parse::<AccountId>() {
            Ok(id) => store::accounts::find(&self.db, id).await?,
            Err(_) => store::accounts::find_by_slug(&self.db, id_or_slug).await?,
        };
        found.ok_or(AppError::NotFound)
    }

    /// Resolves a user of the account by id or username (for the CLI).
    pub async fn find_user(
        &self,
        account: AccountId,
        id_or_username: &str,
    ) -> AppResult<user::Model> {
        let found = match id_or_username.parse() {
            Ok(id) => store::users::find(&self.db, account, id).await?,
            Err(_) => store::users::find_by_username(&self.db, account, id_or_username).await?,
        };
        found.ok_or(AppError::NotFound)
    }
}

/// The admin's fields live under `input.admin` in `createAccount`.
fn nest_admin_errors(error: AppError) -> AppError {
    match error {
        AppError::Rejected(errors) => AppError::Rejected(
            errors
                .into_iter()
                .map(|mut error| {
                    if error.field.first().map(String::as_str) == Some("input") {
                        error.field.insert(1, "admin".into());
                    }
                    error
                })
                .collect(),
        ),
        other => other,
    }
}

impl Services {
    /// Who a command-line run acts as: the named user (id or username), or else the account's
    /// longest-standing active admin. Held to the same rules as a token's user (ACTIVE, LOGIN,
    /// account not suspended), with that user's roles and no scope.
    pub async fn acting_user(
        &self,
        account: AccountId,
        id_or_username: Option<&str>,
    ) -> AppResult<AccountUser> {
        let user = match id_or_username {
            Some(name) => self.find_user(account, name).await?,
            None => store::roles::first_admin(&self.db, account)
                .await?
                .ok_or(AppError::NotFound)?,
        };
        self.refresh_access(&AccountUser {
            account_id: account,
            user_id: user.id,
            username: user.username.unwrap_or_default(),
            grants: Grants::default(),
            scopes: ScopeSet::unrestricted(),
        })
        .await
    }

    /// The caller with roles and account status read again (subscriptions re-check per event).
    pub async fn refresh_access(&self, caller: &AccountUser) -> AppResult<AccountUser> {
        let user = store::roles::sign_in(&self.db, caller.account_id, caller.user_id)
            .await?
            .ok_or(AppError::Unauthenticated("the user no longer exists"))?;
        if user.kind != UserKind::Login || user.status != UserStatus::Active {
            return Err(AppError::Unauthenticated("the user can no longer sign in"));
        }
        if user.account_status == account::AccountStatus::Suspended {
            return Err(AppError::AccountSuspended);
        }
        Ok(AccountUser {
            grants: user.grants,
            ..caller.clone()
        })
    }
}

/// How an account's licence seats are used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LicenceUsage {
    /// Seats the account may use.
    pub limit: i32,
    /// ACTIVE LOGIN users: each holds a seat.
    pub used: u64,
    /// PENDING LOGIN users: each takes a seat when activated.
    pub pending: u64,
    /// NON_LOGIN users not deactivated: contacts, holding no seat.
    pub non_login: u64,
}

impl Services {
    /// The caller's account's seat usage. Needs USERS READ.
    pub async fn licence_usage(&self, caller: &AccountUser) -> AppResult<LicenceUsage> {
        caller.require(
            crate::domain::permission::Area::Users,
            crate::domain::permission::Level::Read,
        )?;
        let account = self.account(caller).await?;
        let mut usage = LicenceUsage {
            limit: account.licence_limit,
            ..LicenceUsage::default()
        };
        for (kind, status, count) in store::accounts::user_counts(&self.db, account.id).await? {
            match (kind, status) {
                (UserKind::Login, UserStatus::Active) => usage.used += count,
                (UserKind::Login, UserStatus::Pending) => usage.pending += count,
                (UserKind::NonLogin, UserStatus::Active | UserStatus::Pending) => {
                    usage.non_login += count;
                }
                (_, UserStatus::Deactivated) => {}
            }
        }
        Ok(usage)
    }
}
