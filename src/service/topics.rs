//! Account contacts by topic (permission area ACCOUNT_CONTACTS): who the vendor contacts about
//! product updates, security and legal matters, finance, and integrations and APIs; the consent
//! flags; the allowed email domains; and the review cycle that keeps the contacts current.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sea_orm::Set;
use serde_json::json;
use uuid::Uuid;

use super::audit::{Actor, Event};
use super::{Rejections, Services};
use crate::auth::principal::AccountUser;
use crate::domain::contact::{ConsentFlag, ReviewCycle, Topic};
use crate::domain::ids::UserId;
use crate::domain::permission::{Area, Level};
use crate::domain::user::UserStatus;
use crate::domain::values::{Email, LanguageTag};
use crate::error::{AppError, AppResult, UserError};
use crate::store::entities::{account, consent_change, user};
use crate::store::{self, begin_write};

/// A topic with its contacts.
#[derive(Clone, Debug)]
pub struct TopicContacts {
    pub topic: Topic,
    pub required: bool,
    /// At least one contact can be reached (ACTIVE, address not bounced).
    pub satisfied: bool,
    pub contacts: Vec<user::Model>,
}

/// Why a contact needs a replacement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceReason {
    Deactivated,
    Bounced,
    NoEmail,
}

/// A contact the vendor cannot reach, and what they are the contact for.
#[derive(Clone, Debug)]
pub struct ContactToReplace {
    pub user: user::Model,
    pub reason: ReplaceReason,
    pub topics: Vec<Topic>,
    pub integration_keys: Vec<String>,
}

/// What the app's banner shows.
#[derive(Clone, Debug)]
pub struct ContactSetup {
    pub complete: bool,
    pub missing_topics: Vec<Topic>,
    pub last_reviewed_at: Option<DateTime<Utc>>,
    pub review_due_at: DateTime<Utc>,
    pub reminder_due: bool,
    pub to_replace: Vec<ContactToReplace>,
}

/// Why the vendor cannot reach a person, if it cannot.
pub fn unreachable(user: &user::Model) -> Option<ReplaceReason> {
    if user.status != UserStatus::Active {
        Some(ReplaceReason::Deactivated)
    } else if user.email.is_none() {
        Some(ReplaceReason::NoEmail)
    } else if user.email_invalid_at.is_some() {
        Some(ReplaceReason::Bounced)
    } else {
        None
    }
}

/// The account's allowed contact domains (empty: any).
pub fn allowed_domains(account: &account::Model) -> Vec<String> {
    account
        .allowed_contact_domains
        .as_ref()
        .and_then(|value| serde_json::from_value(value.clone()).ok())
        .unwrap_or_default()
}

/// Whether `email` is at one of `domains` or a subdomain of one.
fn domain_allowed(email: &str, domains: &[String]) -> bool {
    let Some((_, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let domain = domain.to_ascii_lowercase();
    domains.is_empty()
        || domains
            .iter()
            .any(|allowed| domain == *allowed || domain.ends_with(&format!(".{allowed}")))
}

/// A domain name as entered, lower-cased: dot-separated labels of letters, digits and hyphens.
fn parse_domain(raw: &str) -> Option<String> {
    let domain = raw.trim().trim_start_matches('@').to_ascii_lowercase();
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    (labels_ok && domain.contains('.') && domain.len() <= 253).then_some(domain)
}

const MAX_DOMAINS: usize = 50;

impl Services {
    /// Every topic with its contacts, whether it is required and whether it is satisfied.
    pub async fn contact_topics(&self, caller: &AccountUser) -> AppResult<Vec<TopicContacts>> {
        caller.require(Area::AccountContacts, Level::Read)?;
        let rows = store::topics::by_account(&self.db, caller.account_id).await?;
        Ok(group_by_topic(rows))
    }

    /// Replaces a topic's contacts. Each must be an ACTIVE user of the account with a name, a
    /// valid email (at an allowed domain, not bounced) and a valid preferred language; every
    /// failure is reported, naming the field, and nothing is saved then.
    pub async fn set_topic_contacts(
        &self,
        caller: &AccountUser,
        topic: Topic,
        users: Vec<UserId>,
    ) -> AppResult<TopicContacts> {
        caller.require(Area::AccountContacts, Level::Full)?;
        let mut ids = users.clone();
        ids.sort();
        ids.dedup();
        let txn = begin_write(&self.db).await?;
        let account = store::accounts::find(&txn, caller.account_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let domains = allowed_domains(&account);
        let found = store::users::by_ids(&txn, caller.account_id, &ids).await?;
        let mut rejections = Rejections::default();
        let mut checked = BTreeSet::new();
        for (index, id) in users.iter().enumerate() {
            if !checked.insert(*id) {
                continue;
            }
            let at = index.to_string();
            let field = |name: &'static str| -> Vec<&str> {
                let mut path = vec!["input", "userIds", at.as_str()];
                if !name.is_empty() {
                    path.push(name);
                }
                path
            };
            let Some(user) = found.get(id) else {
                rejections.push(UserError::new(
                    &field(""),
                    "UNKNOWN_USER",
                    "no such user in the account",
                ));
                continue;
            };
            for error in topic_contact_problems(user, &domains) {
                rejections.push(UserError::new(&field(error.0), error.1, error.2));
            }
        }
        rejections.finish()?;
        store::topics::replace(&txn, caller.account_id, topic, &ids, self.clock.now()).await?;
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            Event {
                action: "topic_contacts.set",
                target_type: "ContactTopic",
                target_id: Some(topic.as_str().to_owned()),
                details: json!({ "userIds": ids.iter().map(ToString::to_string).collect::<Vec<_>>() }),
                pii: None,
            },
        )
        .await?;
        let rows = store::topics::by_account(&txn, caller.account_id).await?;
        txn.commit().await?;
        Ok(group_by_topic(rows)
            .into_iter()
            .find(|t| t.topic == topic)
            .expect("every topic is listed"))
    }

    /// The account's allowed contact email domains; empty when any domain is allowed.
    pub async fn allowed_contact_domains(&self, caller: &AccountUser) -> AppResult<Vec<String>> {
        caller.require(Area::AccountContacts, Level::Read)?;
        Ok(allowed_domains(&self.account(caller).await?))
    }

    /// Restricts topic contacts' emails to these domains (and their subdomains); an empty list
    /// allows any. Existing contacts are kept; the next `setTopicContacts` checks them.
    pub async fn set_allowed_contact_domains(
        &self,
        caller: &AccountUser,
        domains: Vec<String>,
    ) -> AppResult<Vec<String>> {
        caller.require(Area::AccountContacts, Level::Full)?;
        let mut rejections = Rejections::default();
        if domains.len() > MAX_DOMAINS {
            rejections.push(UserError::new(
                &["input", "domains"],
                "TOO_MANY_DOMAINS",
                format!("at most {MAX_DOMAINS} domains"),
            ));
        }
        let mut parsed = Vec::new();
        for (index, raw) in domains.iter().enumerate() {
            match parse_domain(raw) {
                Some(domain) => parsed.push(domain),
                None => rejections.push(UserError::new(
                    &["input", "domains", &index.to_string()],
                    "INVALID_DOMAIN",
                    "not a domain name, e.g. `example.com`",
                )),
            }
        }
        rejections.finish()?;
        parsed.sort();
        parsed.dedup();
        let txn = begin_write(&self.db).await?;
        store::topics::set_allowed_domains(&txn, caller.account_id, &parsed, self.clock.now())
            .await?;
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            Event {
                action: "contact_domains.set",
                target_type: "Account",
                target_id: Some(caller.account_id.to_string()),
                details: json!({ "domains": parsed }),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(parsed)
    }

    /// Changes a user's consent flags; each change is recorded with who made it and when.
    pub async fn set_contact_consent(
        &self,
        caller: &AccountUser,
        id: UserId,
        interviews: Option<bool>,
        product_updates: Option<bool>,
    ) -> AppResult<user::Model> {
        caller.require(Area::AccountContacts, Level::Full)?;
        let txn = begin_write(&self.db).await?;
        let before = store::users::find(&txn, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        let changes: Vec<(ConsentFlag, bool)> = [
            (
                ConsentFlag::Interviews,
                interviews,
                before.may_contact_for_interviews,
            ),
            (
                ConsentFlag::ProductUpdates,
                product_updates,
                before.may_contact_for_product_updates,
            ),
        ]
        .into_iter()
        .filter_map(|(flag, wanted, current)| wanted.filter(|w| *w != current).map(|w| (flag, w)))
        .collect();
        if !changes.is_empty() {
            store::topics::set_consent(
                &txn,
                caller.account_id,
                id,
                interviews,
                product_updates,
                now,
            )
            .await?;
            for (flag, value) in &changes {
                store::topics::record_consent_change(
                    &txn,
                    consent_change::ActiveModel {
                        id: Set(Uuid::new_v4()),
                        account_id: Set(caller.account_id),
                        user_id: Set(id),
                        flag: Set(*flag),
                        value: Set(*value),
                        changed_by_user_id: Set(Some(caller.user_id)),
                        changed_by_label: Set(Some(caller.username.clone())),
                        changed_at: Set(now),
                    },
                )
                .await?;
            }
            self.record(
                &txn,
                Some(caller.account_id),
                &Actor::user(caller),
                Event {
                    action: "user.consent_changed",
                    target_type: "User",
                    target_id: Some(id.to_string()),
                    details: json!({
                        "mayContactForInterviews": interviews,
                        "mayContactForProductUpdates": product_updates,
                    }),
                    pii: None,
                },
            )
            .await?;
        }
        let after = store::users::find(&txn, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        txn.commit().await?;
        Ok(after)
    }

    /// Whether the account's contacts are complete and current.
    pub async fn contact_setup(&self, caller: &AccountUser) -> AppResult<ContactSetup> {
        caller.require(Area::AccountContacts, Level::Read)?;
        let account = self.account(caller).await?;
        let topics = store::topics::by_account(&self.db, caller.account_id).await?;
        let integrations = store::contacts::by_account(&self.db, caller.account_id).await?;
        Ok(setup_of(&account, topics, integrations, self.clock.now()))
    }

    /// Records that the admins confirmed the contacts are current: the next review is due in
    /// three months.
    pub async fn confirm_contacts_reviewed(&self, caller: &AccountUser) -> AppResult<ContactSetup> {
        caller.require(Area::AccountContacts, Level::Full)?;
        let txn = begin_write(&self.db).await?;
        store::topics::set_reviewed(&txn, caller.account_id, self.clock.now()).await?;
        self.record(
            &txn,
            Some(caller.account_id),
            &Actor::user(caller),
            Event {
                action: "contacts.reviewed",
                target_type: "Account",
                target_id: Some(caller.account_id.to_string()),
                details: json!({}),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        self.contact_setup(caller).await
    }
}

/// Every topic, in order, with its contacts.
fn group_by_topic(rows: Vec<(Topic, user::Model)>) -> Vec<TopicContacts> {
    let mut by_topic: BTreeMap<Topic, Vec<user::Model>> =
        Topic::ALL.iter().map(|t| (*t, Vec::new())).collect();
    for (topic, user) in rows {
        by_topic.entry(topic).or_default().push(user);
    }
    by_topic
        .into_iter()
        .map(|(topic, contacts)| TopicContacts {
            topic,
            required: topic.required(),
            satisfied: contacts.iter().any(|c| unreachable(c).is_none()),
            contacts,
        })
        .collect()
}

/// (field, code, message) for each reason a user cannot be a topic contact.
fn topic_contact_problems(
    user: &user::Model,
    domains: &[String],
) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut problems = Vec::new();
    if user.status != UserStatus::Active {
        problems.push((
            "",
            "USER_NOT_ACTIVE",
            "a topic contact must be an ACTIVE user",
        ));
    }
    let named =
        user.display_name.is_some() || user.first_name.is_some() || user.last_name.is_some();
    if !named {
        problems.push(("name", "NAME_REQUIRED", "a topic contact needs a name"));
    }
    match user.email.as_deref() {
        None => problems.push(("email", "EMAIL_REQUIRED", "a topic contact needs an email")),
        Some(email) if Email::parse(email).is_err() => {
            problems.push(("email", "INVALID_EMAIL", "the email address is not valid"))
        }
        Some(_) if user.email_invalid_at.is_some() => problems.push((
            "email",
            "EMAIL_BOUNCED",
            "mail to this address bounced; correct the address first",
        )),
        Some(email) if !domain_allowed(email, domains) => problems.push((
            "email",
            "DOMAIN_NOT_ALLOWED",
            "the account allows contact emails at its allowed domains only",
        )),
        Some(_) => {}
    }
    match user.preferred_language.as_deref() {
        None => problems.push((
            "preferredLanguage",
            "LANGUAGE_REQUIRED",
            "a topic contact needs a preferred language",
        )),
        Some(tag) if LanguageTag::parse(tag).is_err() => problems.push((
            "preferredLanguage",
            "INVALID_LANGUAGE",
            "not a BCP 47 language tag",
        )),
        Some(_) => {}
    }
    problems
}

/// The setup status from the account's contacts.
pub fn setup_of(
    account: &account::Model,
    topics: Vec<(Topic, user::Model)>,
    integrations: Vec<(String, user::Model)>,
    now: DateTime<Utc>,
) -> ContactSetup {
    let grouped = group_by_topic(topics.clone());
    let missing_topics: Vec<Topic> = grouped
        .iter()
        .filter(|t| t.required && !t.satisfied)
        .map(|t| t.topic)
        .collect();
    let complete = missing_topics.is_empty();
    let cycle = ReviewCycle::at(account.created_at, account.contacts_reviewed_at, now);
    let mut to_replace: BTreeMap<UserId, ContactToReplace> = BTreeMap::new();
    let people = topics
        .into_iter()
        .map(|(topic, user)| (Some(topic), None, user))
        .chain(
            integrations
                .into_iter()
                .map(|(key, user)| (None, Some(key), user)),
        );
    for (topic, key, user) in people {
        let Some(reason) = unreachable(&user) else {
            continue;
        };
        let item = to_replace
            .entry(user.id)
            .or_insert_with(|| ContactToReplace {
                user,
                reason,
                topics: Vec::new(),
                integration_keys: Vec::new(),
            });
        item.topics.extend(topic);
        item.integration_keys.extend(key);
    }
    ContactSetup {
        complete,
        missing_topics,
        last_reviewed_at: account.contacts_reviewed_at,
        review_due_at: cycle.review_due_at,
        reminder_due: cycle.reminder_due(complete, now),
        to_replace: to_replace.into_values().collect(),
    }
}

/// Accounts one reminder pass reads at a time.
const REMINDER_PAGE: usize = 200;

impl Services {
    /// Emails each account's admins whose contact review is due or whose required topics are
    /// empty — once per review period: the period is claimed with a compare-and-set in the same
    /// transaction as the emails, so replicas and retries never send a second reminder.
    /// Returns how many accounts were reminded.
    pub async fn send_contact_reminders(&self) -> AppResult<usize> {
        let now = self.clock.now();
        let accounts: Vec<account::Model> = store::accounts::list(&self.db)
            .await?
            .into_iter()
            .filter(|a| a.status == account::AccountStatus::Active)
            .collect();
        let mut reminded = 0;
        for page in accounts.chunks(REMINDER_PAGE) {
            let ids: Vec<_> = page.iter().map(|a| a.id).collect();
            let satisfied = store::topics::satisfied(&self.db, &ids).await?;
            for account in page {
                let have = satisfied.get(&account.id).cloned().unwrap_or_default();
                let missing: Vec<&str> = Topic::ALL
                    .into_iter()
                    .filter(|t| t.required() && !have.contains(t))
                    .map(Topic::as_str)
                    .collect();
                let complete = missing.is_empty();
                let cycle = ReviewCycle::at(account.created_at, account.contacts_reviewed_at, now);
                if !cycle.should_email(complete, now, account.contact_reminder_period) {
                    continue;
                }
                let txn = begin_write(&self.db).await?;
                if !store::topics::claim_reminder(&txn, account.id, cycle.period_start).await? {
                    continue;
                }
                let context = json!({
                    "account_name": account.name,
                    "missing_topics": missing,
                    "review_due": now >= cycle.review_due_at,
                    "review_due_at": cycle.review_due_at.format("%Y-%m-%d").to_string(),
                    "product": "Liaison",
                });
                self.email_admins(&txn, account.id, None, "contact-review-reminder", context)
                    .await?;
                txn.commit().await?;
                reminded += 1;
            }
        }
        Ok(reminded)
    }

    /// Tells the account's admins that mail to one of its people bounced (their address is now
    /// marked invalid, and the contact setup lists them for replacement).
    pub async fn tell_admins_of_bounce(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        account: crate::domain::ids::AccountId,
        person: UserId,
        address: &str,
    ) -> AppResult<()> {
        let Some(account_model) = store::accounts::find(txn, account).await? else {
            return Ok(());
        };
        let Some(user) = store::users::find(txn, account, person).await? else {
            return Ok(());
        };
        let context = json!({
            "account_name": account_model.name,
            "person": super::notices::person_name(&user),
            "address": address,
            "product": "Liaison",
        });
        self.email_admins(txn, account, Some(person), "address-bounced", context)
            .await
    }

    /// One email per reachable admin of the account (except `skip`), in their language, with
    /// `name` added to `context`.
    pub(super) async fn email_admins(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        account: crate::domain::ids::AccountId,
        skip: Option<UserId>,
        template: &str,
        context: serde_json::Value,
    ) -> AppResult<()> {
        for admin in store::roles::reachable_admins(txn, account).await? {
            if Some(admin.id) == skip {
                continue;
            }
            let name = super::notices::person_name(&admin);
            let mut context = context.clone();
            context["name"] = json!(name);
            self.send_email(
                txn,
                crate::mail::outbox::Email {
                    account_id: Some(account),
                    recipient_user_id: Some(admin.id),
                    to_address: admin.email.as_deref().unwrap_or_default(),
                    to_name: Some(&name),
                    template,
                    language: admin.preferred_language.as_deref(),
                    context,
                },
            )
            .await?;
        }
        Ok(())
    }
}
