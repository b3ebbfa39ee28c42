//! What platform operators see of accounts: metadata and seat counts, never account data. The
//! types are separate from `Account` so no field of account data can be reached from them.

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::account::ACCOUNT;
use super::user::USER;
use crate::graphql::relay::encode_id;
use crate::service::accounts::LicenceUsage as DomainLicenceUsage;
use crate::service::platform::ManagedAccount as DomainManagedAccount;
use crate::store::entities::{account, user};

/// Whether an account's users may work.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountStatus {
    /// In use.
    Active,
    /// Suspended by a platform operator: every token of its users is refused with
    /// ACCOUNT_SUSPENDED and its background work pauses; nothing is lost, and reactivation
    /// restores it as it was.
    Suspended,
}

impl From<account::AccountStatus> for AccountStatus {
    fn from(status: account::AccountStatus) -> Self {
        match status {
            account::AccountStatus::Active => AccountStatus::Active,
            account::AccountStatus::Suspended => AccountStatus::Suspended,
        }
    }
}

impl From<AccountStatus> for account::AccountStatus {
    fn from(status: AccountStatus) -> Self {
        match status {
            AccountStatus::Active => account::AccountStatus::Active,
            AccountStatus::Suspended => account::AccountStatus::Suspended,
        }
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A customer account as platform operators see it: its metadata and seat counts.
pub struct ManagedAccount(pub DomainManagedAccount);

/// A customer account as platform operators see it: its metadata and seat counts. Operators never
/// read an account's data (users, contacts, connections).
#[Object]
impl ManagedAccount {
    /// Opaque global id: the same as the account's own `Account.id`.
    async fn id(&self) -> ID {
        encode_id(ACCOUNT, &self.0.account.id.to_string())
    }
    /// URL name: 3 to 40 lowercase letters, digits and hyphens; unique.
    async fn slug(&self) -> &str {
        &self.0.account.slug
    }
    /// The company's name as shown in the product.
    async fn name(&self) -> &str {
        &self.0.account.name
    }
    /// ACTIVE or SUSPENDED.
    async fn status(&self) -> AccountStatus {
        self.0.account.status.into()
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.account.created_at
    }
    /// When the account's metadata last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.account.updated_at
    }
    /// Licence seats in use: the account's ACTIVE LOGIN users.
    async fn seats_used(&self) -> i64 {
        count(self.0.seats_used)
    }
    /// How many ACTIVE LOGIN users the account may have.
    async fn licence_limit(&self) -> i32 {
        self.0.account.licence_limit
    }
}

/// The first admin created with an account: who the customer signs in as.
pub struct ManagedAccountAdmin(pub user::Model);

/// The first admin created with an account: who the customer signs in as.
#[Object]
impl ManagedAccountAdmin {
    /// The user's opaque global id (`User.id` for the account's own callers).
    async fn id(&self) -> ID {
        encode_id(USER, &self.0.id.to_string())
    }
    /// The admin's username.
    async fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }
}

/// How an account's licence seats are used.
#[derive(SimpleObject)]
pub struct LicenceUsage {
    /// Seats the account may use (its licence limit).
    pub limit: i32,
    /// Seats in use: ACTIVE LOGIN users.
    pub used: i64,
    /// Seats still free (`limit - used`, never below 0).
    pub available: i64,
    /// PENDING LOGIN users: each takes a seat when activated.
    pub pending: i64,
    /// NON_LOGIN users (contacts) not deactivated: they hold no seat.
    pub non_login: i64,
}

impl From<DomainLicenceUsage> for LicenceUsage {
    fn from(usage: DomainLicenceUsage) -> Self {
        let used = count(usage.used);
        Self {
            limit: usage.limit,
            used,
            available: (i64::from(usage.limit) - used).max(0),
            pending: count(usage.pending),
            non_login: count(usage.non_login),
        }
    }
}

/// The delivery state of an outbox message.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Waiting for delivery (or for a retry).
    Pending,
    /// Accepted by the SMTP server.
    Delivered,
    /// Refused for good, or given up after every retry.
    Failed,
}

impl From<crate::store::entities::outbox_message::OutboxStatus> for OutboxStatus {
    fn from(status: crate::store::entities::outbox_message::OutboxStatus) -> Self {
        use crate::store::entities::outbox_message::OutboxStatus as S;
        match status {
            S::Pending => Self::Pending,
            S::Delivered => Self::Delivered,
            S::Failed => Self::Failed,
        }
    }
}

impl From<OutboxStatus> for crate::store::entities::outbox_message::OutboxStatus {
    fn from(status: OutboxStatus) -> Self {
        match status {
            OutboxStatus::Pending => Self::Pending,
            OutboxStatus::Delivered => Self::Delivered,
            OutboxStatus::Failed => Self::Failed,
        }
    }
}

/// An email of the outbox, as the vendor's communication log shows it to operators.
pub struct OutboxMessage(pub crate::store::entities::outbox_message::Model);

/// An email of the outbox: to whom, what, and how delivery went.
#[async_graphql::Object]
impl OutboxMessage {
    /// Opaque global id.
    async fn id(&self) -> async_graphql::ID {
        crate::graphql::relay::encode_id("OutboxMessage", &self.0.id.to_string())
    }
    /// The recipient's address.
    async fn to_address(&self) -> &str {
        &self.0.to_address
    }
    /// The template it was rendered from, e.g. `test-email`.
    async fn template(&self) -> &str {
        &self.0.template
    }
    /// The language it was rendered in.
    async fn language(&self) -> &str {
        &self.0.language
    }
    /// The subject line.
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// The stable Message-ID every delivery attempt uses.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }
    /// Delivery state.
    async fn status(&self) -> OutboxStatus {
        self.0.status.into()
    }
    /// Delivery attempts so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The SMTP server's last reply (or the connection problem).
    async fn last_reply(&self) -> Option<&str> {
        self.0.last_reply.as_deref()
    }
    /// When it was recorded.
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
    /// When the SMTP server accepted it.
    async fn delivered_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.0.delivered_at
    }
}
