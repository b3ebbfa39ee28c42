//! Account contacts by topic, the contact setup banner and consent history.

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{ConsentFlag, ContactTopicName};
use super::user::User;
use crate::domain::permission::{Area, Level};
use crate::graphql::context::{caller, loaders};
use crate::graphql::errors::guarded;
use crate::service::topics::{self, ReplaceReason};
use crate::store::entities::consent_change;

/// A topic with its contacts.
pub struct ContactTopic(pub topics::TopicContacts);

/// A topic the vendor contacts the account about, with its contacts.
#[Object]
impl ContactTopic {
    /// Which topic.
    async fn topic(&self) -> ContactTopicName {
        self.0.topic.into()
    }
    /// Whether the topic needs at least one contact (all but INTEGRATIONS_APIS).
    async fn required(&self) -> bool {
        self.0.required
    }
    /// Whether at least one contact can be reached (ACTIVE, address not bounced).
    async fn satisfied(&self) -> bool {
        self.0.satisfied
    }
    /// The topic's contacts, oldest first.
    async fn contacts(&self) -> Vec<User> {
        self.0.contacts.iter().cloned().map(User::from).collect()
    }
}

/// Why a contact needs a replacement.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ContactProblem {
    /// The user was deactivated (or is not active).
    Deactivated,
    /// Mail to their address bounced permanently.
    Bounced,
    /// They have no email address.
    NoEmail,
}

impl From<ReplaceReason> for ContactProblem {
    fn from(reason: ReplaceReason) -> Self {
        match reason {
            ReplaceReason::Deactivated => ContactProblem::Deactivated,
            ReplaceReason::Bounced => ContactProblem::Bounced,
            ReplaceReason::NoEmail => ContactProblem::NoEmail,
        }
    }
}

/// A contact the vendor cannot reach, and what they are the contact for.
pub struct ContactToReplace(pub topics::ContactToReplace);

/// A contact the vendor cannot reach, and the topics and integrations that need someone else.
#[Object]
impl ContactToReplace {
    /// The contact.
    async fn user(&self) -> User {
        User::from(self.0.user.clone())
    }
    /// Why they cannot be reached.
    async fn problem(&self) -> ContactProblem {
        self.0.reason.into()
    }
    /// The topics they are a contact for.
    async fn topics(&self) -> Vec<ContactTopicName> {
        self.0.topics.iter().map(|t| (*t).into()).collect()
    }
    /// The integrations they are a contact for (catalog keys). Needs INTEGRATION_CONTACTS READ.
    async fn integration_keys(&self, ctx: &Context<'_>) -> Option<Vec<String>> {
        let check = caller(ctx).and_then(|c| c.require(Area::IntegrationContacts, Level::Read));
        guarded(ctx, check, || Some(self.0.integration_keys.clone()))
    }
}

/// Whether the account's contacts are complete and current: what the app's banner shows.
pub struct ContactSetup(pub topics::ContactSetup);

/// Whether the account's contacts are complete and current: what the app's banner shows.
#[Object]
impl ContactSetup {
    /// Every required topic has a contact who can be reached.
    async fn complete(&self) -> bool {
        self.0.complete
    }
    /// Required topics without a reachable contact.
    async fn missing_topics(&self) -> Vec<ContactTopicName> {
        self.0.missing_topics.iter().map(|t| (*t).into()).collect()
    }
    /// When the admins last confirmed the contacts; absent if never.
    async fn last_reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_reviewed_at
    }
    /// When the next review is due: 3 months after the last one (or after the account's creation).
    async fn review_due_at(&self) -> DateTime<Utc> {
        self.0.review_due_at
    }
    /// Whether to show the reminder: the setup is incomplete or the review is due.
    async fn reminder_due(&self) -> bool {
        self.0.reminder_due
    }
    /// Contacts (of topics or integrations) who were deactivated or whose address bounced.
    async fn contacts_to_replace(&self) -> Vec<ContactToReplace> {
        self.0
            .to_replace
            .iter()
            .cloned()
            .map(ContactToReplace)
            .collect()
    }
}

/// One change of a consent flag.
pub struct ConsentChange(pub consent_change::Model);

/// One change of a consent flag: which, the new value, who and when.
#[Object]
impl ConsentChange {
    /// The flag.
    async fn flag(&self) -> ConsentFlag {
        self.0.flag.into()
    }
    /// Its new value.
    async fn value(&self) -> bool {
        self.0.value
    }
    /// When it changed.
    async fn changed_at(&self) -> DateTime<Utc> {
        self.0.changed_at
    }
    /// The username of who changed it.
    async fn changed_by_label(&self) -> Option<&str> {
        self.0.changed_by_label.as_deref()
    }
    /// The user who changed it. Needs USERS READ.
    async fn changed_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.changed_by_user_id else {
            return Ok(None);
        };
        if let Err(error) = caller(ctx).and_then(|c| c.require(Area::Users, Level::Read)) {
            crate::graphql::errors::deny_field(ctx, error);
            return Ok(None);
        }
        Ok(loaders(ctx)?.users().load_one(id).await?.map(User))
    }
}

/// The account's allowed contact domains.
#[derive(SimpleObject)]
pub struct ContactDomains {
    /// Lower-case domains; topic contacts' emails must be at one of them or a subdomain. Empty:
    /// any domain.
    pub domains: Vec<String>,
}
