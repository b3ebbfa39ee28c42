//! Platform operations: what vendor staff (platform operators) and the `liaison account` command do
//! to customer accounts — create one with its first admin, rename it and set its licence limit,
//! suspend and reactivate it, list accounts with their seats. Operators see and change account
//! metadata only, never account data; each change is audited in the account's own log with the
//! operator (or the CLI) as actor.

use serde_json::json;

use super::accounts::NewAccount;
use super::audit::{Actor, Event};
use super::{Rejections, Services};
use crate::auth::principal::{Operator, Principal};
use crate::domain::ids::AccountId;
use crate::domain::operator::OperatorScope;
use crate::domain::values::{Email, LanguageTag, Name, Slug, Username};
use crate::error::{AppError, AppResult, UserError};
use crate::store::accounts::AccountFilter;
use crate::store::entities::account::{self, AccountStatus};
use crate::store::entities::audit_event::ActorKind;
use crate::store::entities::user;
use crate::store::{self, begin_write};

/// Who performs a platform operation.
#[derive(Clone, Copy, Debug)]
pub enum PlatformCaller<'a> {
    /// A platform operator, with the rights its token's scopes allow.
    Operator(&'a Operator),
    /// The `liaison account` command, run by whoever holds the database: every right.
    Cli,
}

/// The operator calling, or why an account user (FORBIDDEN) or anonymous caller may not.
pub fn operator(principal: &Principal) -> AppResult<&Operator> {
    match principal {
        Principal::Operator(operator) => Ok(operator),
        Principal::User(_) => Err(AppError::ForbiddenBecause(
            "only platform operators may manage accounts",
        )),
        Principal::Anonymous => Err(AppError::Unauthenticated("a bearer token is required")),
    }
}

impl PlatformCaller<'_> {
    /// INSUFFICIENT_SCOPES (listing every missing scope) unless the caller holds every need.
    pub(super) fn require(&self, needs: &[OperatorScope]) -> AppResult<()> {
        match self {
            Self::Cli => Ok(()),
            Self::Operator(operator) => {
                operator
                    .scopes
                    .require(needs)
                    .map_err(|missing| AppError::InsufficientScopes {
                        required: missing.required,
                        granted: missing.granted,
                    })
            }
        }
    }

    /// The audit actor: the operator by name, or the system labelled `cli`.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Operator(operator) => Actor {
                kind: ActorKind::Operator,
                id: Some(operator.name.clone()),
                label: Some(operator.name.clone()),
            },
            Self::Cli => Actor::system("cli"),
        }
    }

    pub(super) fn label(&self) -> &str {
        match self {
            Self::Operator(operator) => &operator.name,
            Self::Cli => "cli",
        }
    }
}

/// An account as operators see it: its metadata and how many seats are in use.
#[derive(Clone, Debug)]
pub struct ManagedAccount {
    pub account: account::Model,
    pub seats_used: u64,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct AccountChange {
    pub name: Option<String>,
    pub licence_limit: Option<i32>,
}

const MAX_REASON: usize = 500;

fn licence_limit_error(field: &[&str]) -> UserError {
    UserError::new(
        field,
        "INVALID_LICENCE_LIMIT",
        "the licence limit is at least 1 (the first admin holds a seat)",
    )
}

impl Services {
    /// Creates an account and its first admin (LOGIN, ACTIVE, Account Admin) in one transaction.
    /// Every invalid field is reported at once, the admin's under `input.admin`; nothing is
    /// written then.
    #[tracing::instrument(skip_all, fields(by = caller.label(), slug = %new.slug))]
    pub async fn open_account(
        &self,
        caller: &PlatformCaller<'_>,
        new: NewAccount,
    ) -> AppResult<(ManagedAccount, user::Model)> {
        caller.require(&[OperatorScope::AccountsWrite])?;
        self.check_new_account(&new).await?;
        let (account, admin) = self.create_account(new, &caller.actor()).await?;
        let seats_used = store::accounts::seats_used(&self.db, account.id).await?;
        Ok((
            ManagedAccount {
                account,
                seats_used,
            },
            admin,
        ))
    }

    async fn check_new_account(&self, new: &NewAccount) -> AppResult<()> {
        let mut rejections = Rejections::default();
        let slug = rejections.check(&["input", "slug"], Slug::parse(&new.slug));
        rejections.check(
            &["input", "name"],
            Name::parse(&new.name, "account name", 200),
        );
        if new.licence_limit < 1 {
            rejections.push(licence_limit_error(&["input", "licenceLimit"]));
        }
        let admin = &new.admin;
        match admin.username.as_deref() {
            Some(raw) => {
                rejections.check(&["input", "admin", "username"], Username::parse(raw));
            }
            None => rejections.push(UserError::new(
                &["input", "admin", "username"],
                "REQUIRED",
                "the first admin needs a username",
            )),
        }
        match admin.email.as_deref() {
            Some(raw) => {
                rejections.check(&["input", "admin", "email"], Email::parse(raw));
            }
            None => rejections.push(UserError::new(
                &["input", "admin", "email"],
                "REQUIRED",
                "the first admin needs an email address",
            )),
        }
        if let Some(raw) = admin.display_name.as_deref() {
            rejections.check(
                &["input", "admin", "name"],
                Name::parse(raw, "display name", 200),
            );
        }
        if let Some(raw) = admin.preferred_language.as_deref() {
            rejections.check(
                &["input", "admin", "preferredLanguage"],
                LanguageTag::parse(raw),
            );
        }
        // Reported with the other fields; the unique constraint still decides under a race.
        if let Some(slug) = slug
            && store::accounts::find_by_slug(&self.db, slug.as_str())
                .await?
                .is_some()
        {
            rejections.push(UserError::new(
                &["input", "slug"],
                "SLUG_TAKEN",
                "an account with this slug already exists",
            ));
        }
        rejections.finish()
    }

    /// Renames an account or changes its licence limit, which never goes below the seats in use
    /// (LICENCE_BELOW_USAGE).
    #[tracing::instrument(skip_all, fields(by = caller.label(), account_id = %id))]
    pub async fn update_account(
        &self,
        caller: &PlatformCaller<'_>,
        id: AccountId,
        change: AccountChange,
    ) -> AppResult<ManagedAccount> {
        caller.require(&[OperatorScope::AccountsWrite])?;
        let mut rejections = Rejections::default();
        let name = change.name.as_deref().and_then(|raw| {
            rejections.check(&["input", "name"], Name::parse(raw, "account name", 200))
        });
        if change.licence_limit.is_some_and(|limit| limit < 1) {
            rejections.push(licence_limit_error(&["input", "licenceLimit"]));
        }
        rejections.finish()?;

        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        // Seat-taking changes hold the same lock, so the count below cannot grow before commit.
        if !store::accounts::lock(&txn, id, now).await? {
            return Err(AppError::NotFound);
        }
        let before = store::accounts::find(&txn, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let seats_used = store::accounts::seats_used(&txn, id).await?;
        let new_name = name.map_or_else(|| before.name.clone(), Name::into_inner);
        let new_limit = change.licence_limit.unwrap_or(before.licence_limit);
        if new_name == before.name && new_limit == before.licence_limit {
            txn.rollback().await?;
            return Ok(ManagedAccount {
                account: before,
                seats_used,
            });
        }
        if u64::try_from(new_limit).unwrap_or_default() < seats_used {
            return Err(AppError::rejected(UserError::new(
                &["input", "licenceLimit"],
                "LICENCE_BELOW_USAGE",
                format!(
                    "{seats_used} seats are in use: the licence limit cannot be lower; \
                     deactivate users first"
                ),
            )));
        }
        store::accounts::update_details(&txn, id, &new_name, new_limit, now).await?;
        self.record(
            &txn,
            Some(id),
            &caller.actor(),
            Event {
                action: "account.updated",
                target_type: "Account",
                target_id: Some(id.to_string()),
                details: json!({
                    "before": { "name": before.name, "licenceLimit": before.licence_limit },
                    "after": { "name": new_name, "licenceLimit": new_limit },
                }),
                pii: None,
            },
        )
        .await?;
        let account = store::accounts::find(&txn, id)
            .await?
            .ok_or(AppError::NotFound)?;
        txn.commit().await?;
        Ok(ManagedAccount {
            account,
            seats_used,
        })
    }

    /// Suspends an account: every token of its users is refused with ACCOUNT_SUSPENDED until it
    /// is reactivated; nothing else changes. Suspending a suspended account changes nothing.
    #[tracing::instrument(skip_all, fields(by = caller.label(), account_id = %id))]
    pub async fn suspend_account(
        &self,
        caller: &PlatformCaller<'_>,
        id: AccountId,
        reason: Option<String>,
    ) -> AppResult<ManagedAccount> {
        caller.require(&[OperatorScope::AccountsWrite])?;
        let reason = match reason.as_deref().map(str::trim) {
            Some(reason) if reason.is_empty() || reason.chars().count() > MAX_REASON => {
                return Err(AppError::rejected(UserError::new(
                    &["input", "reason"],
                    "INVALID_REASON",
                    format!("a reason is not empty and has at most {MAX_REASON} characters"),
                )));
            }
            other => other.map(str::to_owned),
        };
        self.change_status(
            caller,
            id,
            AccountStatus::Active,
            AccountStatus::Suspended,
            "account.suspended",
            json!({ "reason": reason }),
        )
        .await
    }

    /// Reactivates a suspended account: its users' tokens are accepted again, with everything as
    /// it was. Reactivating an active account changes nothing.
    #[tracing::instrument(skip_all, fields(by = caller.label(), account_id = %id))]
    pub async fn reactivate_account(
        &self,
        caller: &PlatformCaller<'_>,
        id: AccountId,
    ) -> AppResult<ManagedAccount> {
        caller.require(&[OperatorScope::AccountsWrite])?;
        self.change_status(
            caller,
            id,
            AccountStatus::Suspended,
            AccountStatus::Active,
            "account.reactivated",
            json!({}),
        )
        .await
    }

    async fn change_status(
        &self,
        caller: &PlatformCaller<'_>,
        id: AccountId,
        from: AccountStatus,
        to: AccountStatus,
        action: &'static str,
        details: serde_json::Value,
    ) -> AppResult<ManagedAccount> {
        let txn = begin_write(&self.db).await?;
        let changed = store::accounts::set_status(&txn, id, from, to, self.clock.now()).await?;
        if changed {
            self.record(
                &txn,
                Some(id),
                &caller.actor(),
                Event {
                    action,
                    target_type: "Account",
                    target_id: Some(id.to_string()),
                    details,
                    pii: None,
                },
            )
            .await?;
        }
        let account = store::accounts::find(&txn, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let seats_used = store::accounts::seats_used(&txn, id).await?;
        txn.commit().await?;
        Ok(ManagedAccount {
            account,
            seats_used,
        })
    }

    /// A page of accounts, by slug, with their seats in use (one statement for the page).
    pub async fn managed_accounts(
        &self,
        caller: &PlatformCaller<'_>,
        filter: &AccountFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<ManagedAccount>> {
        caller.require(&[OperatorScope::AccountsRead])?;
        let accounts = store::accounts::page(&self.db, filter, offset, limit).await?;
        let ids: Vec<AccountId> = accounts.iter().map(|a| a.id).collect();
        let mut seats = store::accounts::seats_used_by(&self.db, &ids).await?;
        Ok(accounts
            .into_iter()
            .map(|account| ManagedAccount {
                seats_used: seats.remove(&account.id).unwrap_or_default(),
                account,
            })
            .collect())
    }

    pub async fn managed_accounts_count(
        &self,
        caller: &PlatformCaller<'_>,
        filter: &AccountFilter,
    ) -> AppResult<u64> {
        caller.require(&[OperatorScope::AccountsRead])?;
        Ok(store::accounts::count_filtered(&self.db, filter).await?)
    }

    /// One account by id or slug (the CLI names accounts by slug).
    pub async fn managed_account(
        &self,
        caller: &PlatformCaller<'_>,
        id_or_slug: &str,
    ) -> AppResult<ManagedAccount> {
        caller.require(&[OperatorScope::AccountsRead])?;
        let account = self.find_account(id_or_slug).await?;
        let seats_used = store::accounts::seats_used(&self.db, account.id).await?;
        Ok(ManagedAccount {
            account,
            seats_used,
        })
    }
}

/// The address and optional language of a test message (`input.to`, `input.language`), each
/// failure reported at its field.
pub(super) fn test_recipient(
    to: &str,
    language: Option<&str>,
) -> AppResult<(Email, Option<LanguageTag>)> {
    let mut rejections = super::Rejections::default();
    let address = rejections.check(&["input", "to"], Email::parse(to));
    let language =
        language.and_then(|raw| rejections.check(&["input", "language"], LanguageTag::parse(raw)));
    rejections.finish()?;
    let address = address.ok_or(AppError::Internal("validated address missing".into()))?;
    Ok((address, language))
}

impl Services {
    /// Sends a test email through the outbox (operators check the mail setup with it).
    pub async fn send_test_email(
        &self,
        caller: &PlatformCaller<'_>,
        to: &str,
        language: Option<&str>,
    ) -> AppResult<uuid::Uuid> {
        caller.require(&[OperatorScope::MailWrite])?;
        let (address, language) = test_recipient(to, language)?;
        let txn = crate::store::begin_write(&self.db).await?;
        let id = self
            .send_email(
                &txn,
                crate::mail::outbox::Email {
                    account_id: None,
                    recipient_user_id: None,
                    to_address: address.as_str(),
                    to_name: None,
                    template: "test-email",
                    language: language.as_ref().map(|l| l.as_str()),
                    context: serde_json::json!({ "operator": caller.label(), "product": "Liaison" }),
                },
            )
            .await?;
        txn.commit().await?;
        Ok(id)
    }

    /// The outbox, newest first (operators: `mail:read`).
    pub async fn outbox(
        &self,
        caller: &PlatformCaller<'_>,
        filter: &crate::store::outbox::OutboxFilter,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<crate::store::entities::outbox_message::Model>> {
        caller.require(&[OperatorScope::MailRead])?;
        Ok(crate::store::outbox::page(&self.db, filter, offset, limit).await?)
    }

    pub async fn outbox_count(
        &self,
        caller: &PlatformCaller<'_>,
        filter: &crate::store::outbox::OutboxFilter,
    ) -> AppResult<u64> {
        caller.require(&[OperatorScope::MailRead])?;
        Ok(crate::store::outbox::count(&self.db, filter).await?)
    }
}
