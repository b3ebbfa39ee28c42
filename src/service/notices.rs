//! Notices from the vendor. Platform operators preview an audience (counts per account and
//! language, the people, a CSV), send a notice to the contacts of an integration or of a topic
//! in every account, and follow its delivery. A notice is fanned out in batches by a job: each
//! batch writes its recipients and their outbox messages in one transaction and moves a cursor
//! with a compare-and-set, so every recipient gets exactly one message however often a worker
//! stops or restarts. Integration notices also show in the product of the accounts they concern
//! until a user dismisses them.

use std::collections::BTreeMap;

use sea_orm::{DatabaseTransaction, Set};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::platform::PlatformCaller;
use super::{Rejections, Services};
use crate::auth::principal::AccountUser;
use crate::domain::contact::{Audience, NoticeKind, pick_translation};
use crate::domain::ids::{AccountId, UserId};
use crate::domain::operator::OperatorScope;
use crate::domain::permission::{Area, Level};
use crate::domain::values::LanguageTag;
use crate::error::{AppError, AppResult, UserError};
use crate::jobs::{JobContext, JobFailure, JobHandler};
use crate::mail::outbox::Email as OutgoingEmail;
use crate::store::entities::notice::{self, NoticeAudience, NoticeStatus};
use crate::store::entities::outbox_message::{self, OutboxStatus};
use crate::store::entities::{account, notice_recipient, user};
use crate::store::{self, begin_write};

/// The job kind that fans a notice out, one batch per run.
pub const FAN_OUT: &str = "notices.fan_out";
const FAN_OUT_ATTEMPTS: i32 = 10;
const MAX_SUBJECT: usize = 300;
const MAX_BODY: usize = 20_000;
const MAX_TRANSLATIONS: usize = 50;

/// A notice's text in one language.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NoticeText {
    pub subject: String,
    pub body: String,
}

/// What an operator sends: the default text and its translations by BCP 47 tag.
#[derive(Clone, Debug)]
pub struct NoticeContent {
    pub kind: NoticeKind,
    pub text: NoticeText,
    pub translations: Vec<(String, NoticeText)>,
}

/// An audience preview: how many people, per account and per preferred language.
#[derive(Clone, Debug)]
pub struct AudienceSummary {
    pub total: u64,
    pub by_account: Vec<(account::Model, u64)>,
    pub by_language: Vec<(String, u64)>,
}

/// One person of an audience, with their account.
#[derive(Clone, Debug)]
pub struct AudienceMember {
    pub user: user::Model,
    pub account: account::Model,
}

/// A notice's delivery so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoticeDelivery {
    pub recipients: u64,
    pub delivered: u64,
    pub failed: u64,
    pub pending: u64,
}

/// One recipient of a sent notice.
#[derive(Clone, Debug)]
pub struct NoticeRecipient {
    pub recipient: notice_recipient::Model,
    pub message: Option<outbox_message::Model>,
    pub account: Option<account::Model>,
}

/// The name a message is addressed to.
pub fn person_name(user: &user::Model) -> String {
    if let Some(name) = &user.display_name {
        return name.clone();
    }
    let full = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if full.is_empty() {
        user.username.clone().unwrap_or_default()
    } else {
        full
    }
}

impl NoticeContent {
    /// Checks the text and translations; every failure at once.
    fn validate(&self) -> AppResult<()> {
        let mut rejections = Rejections::default();
        check_text(&mut rejections, &["input"], &self.text);
        if self.translations.len() > MAX_TRANSLATIONS {
            rejections.push(UserError::new(
                &["input", "translations"],
                "TOO_MANY_TRANSLATIONS",
                format!("at most {MAX_TRANSLATIONS} translations"),
            ));
        }
        let mut seen = Vec::new();
        for (index, (language, text)) in self.translations.iter().enumerate() {
            let at = index.to_string();
            let field = ["input", "translations", at.as_str()];
            match LanguageTag::parse(language) {
                Err(error) => rejections.push(UserError::invalid(
                    &[&field[..], &["language"]].concat(),
                    &error,
                )),
                Ok(tag) if seen.contains(&tag.as_str().to_ascii_lowercase()) => {
                    rejections.push(UserError::new(
                        &[&field[..], &["language"]].concat(),
                        "DUPLICATE_LANGUAGE",
                        "each language has one translation",
                    ))
                }
                Ok(tag) => seen.push(tag.as_str().to_ascii_lowercase()),
            }
            check_text(&mut rejections, &field, text);
        }
        rejections.finish()
    }

    /// The text for a recipient who prefers `language`, and the language it is in.
    fn for_language<'a>(
        &'a self,
        language: Option<&str>,
        default: &'a str,
    ) -> (&'a str, &'a NoticeText) {
        match pick_translation(&self.translations, language) {
            Some((language, text)) => (language.as_str(), text),
            None => (default, &self.text),
        }
    }

    pub fn from_notice(notice: &notice::Model) -> Self {
        let translations: BTreeMap<String, NoticeText> =
            serde_json::from_value(notice.translations.clone()).unwrap_or_default();
        Self {
            kind: notice.kind,
            text: NoticeText {
                subject: notice.subject.clone(),
                body: notice.body.clone(),
            },
            translations: translations.into_iter().collect(),
        }
    }
}

fn check_text(rejections: &mut Rejections, at: &[&str], text: &NoticeText) {
    let subject = text.subject.trim();
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT || subject.contains(['\r', '\n'])
    {
        rejections.push(UserError::new(
            &[at, &["subject"]].concat(),
            "INVALID_SUBJECT",
            format!("a subject is one line of 1 to {MAX_SUBJECT} characters"),
        ));
    }
    let body = text.body.trim();
    if body.is_empty() || body.chars().count() > MAX_BODY {
        rejections.push(UserError::new(
            &[at, &["body"]].concat(),
            "INVALID_BODY",
            format!("a body has 1 to {MAX_BODY} characters"),
        ));
    }
}

/// The audience a notice record names.
fn audience_of(notice: &notice::Model) -> Option<Audience> {
    match notice.audience {
        NoticeAudience::IntegrationContacts => notice
            .integration_key
            .clone()
            .map(Audience::IntegrationContacts),
        NoticeAudience::TopicContacts => notice.topic.map(Audience::TopicContacts),
    }
}

/// The variables of the `notice` template.
fn notice_context(
    services: &Services,
    audience: &Audience,
    text: &NoticeText,
    account_name: &str,
) -> Value {
    let paragraphs: Vec<&str> = text
        .body
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let mut context = json!({
        "subject": text.subject.trim(),
        "body": text.body.trim(),
        "paragraphs": paragraphs,
        "account_name": account_name,
        "product": "Liaison",
    });
    match audience {
        Audience::IntegrationContacts(key) => {
            let name = services
                .catalog
                .get(key)
                .map_or_else(|| key.clone(), |entry| entry.name.clone());
            context["integration"] = json!(name);
        }
        Audience::TopicContacts(topic) => context["topic"] = json!(topic.as_str()),
        Audience::InterviewCandidates | Audience::Marketing => {}
    }
    context
}

impl Services {
    /// An integration audience must name an integration of the catalog (`<at>.integrationKey`).
    fn check_audience(&self, audience: &Audience, at: &str) -> AppResult<()> {
        if let Audience::IntegrationContacts(key) = audience
            && self.catalog.get(key).is_none()
        {
            return Err(AppError::rejected(UserError::new(
                &[at, "integrationKey"],
                "UNKNOWN_INTEGRATION",
                format!("no integration `{key}` in the catalog"),
            )));
        }
        Ok(())
    }

    /// Whether the operator may preview `audience`, and whether it names a real integration;
    /// no database work.
    pub fn check_audience_preview(
        &self,
        caller: &PlatformCaller<'_>,
        audience: &Audience,
    ) -> AppResult<()> {
        caller.require(&[OperatorScope::NoticesRead])?;
        self.check_audience(audience, "target")
    }

    /// Who an audience holds: counts per account and per preferred language.
    pub async fn notice_audience(
        &self,
        caller: &PlatformCaller<'_>,
        audience: &Audience,
    ) -> AppResult<AudienceSummary> {
        self.check_audience_preview(caller, audience)?;
        let per_account = store::notices::audience_by_account(&self.db, audience).await?;
        let ids: Vec<AccountId> = per_account.iter().map(|(id, _)| *id).collect();
        let accounts = store::notices::accounts_by_ids(&self.db, &ids).await?;
        let mut by_account: Vec<(account::Model, u64)> = per_account
            .into_iter()
            .filter_map(|(id, n)| Some((accounts.get(&id)?.clone(), u64::try_from(n).ok()?)))
            .collect();
        by_account.sort_by(|a, b| a.0.slug.cmp(&b.0.slug));
        let mut by_language: BTreeMap<String, u64> = BTreeMap::new();
        for (language, n) in store::notices::audience_by_language(&self.db, audience).await? {
            let language = language.unwrap_or_else(|| self.mailer.default_language.clone());
            *by_language.entry(language).or_default() += u64::try_from(n).unwrap_or(0);
        }
        Ok(AudienceSummary {
            total: by_account.iter().map(|(_, n)| n).sum(),
            by_account,
            by_language: by_language.into_iter().collect(),
        })
    }

    pub async fn audience_count(
        &self,
        caller: &PlatformCaller<'_>,
        audience: &Audience,
    ) -> AppResult<u64> {
        caller.require(&[OperatorScope::NoticesRead])?;
        Ok(store::notices::audience_count(&self.db, audience).await?)
    }

    /// The people of an audience, by account: a page (offset, limit), or all of them.
    pub async fn audience_members(
        &self,
        caller: &PlatformCaller<'_>,
        audience: &Audience,
        page: Option<(u64, u64)>,
    ) -> AppResult<Vec<AudienceMember>> {
        self.check_audience_preview(caller, audience)?;
        let users = store::notices::audience_page(&self.db, audience, page).await?;
        let mut ids: Vec<AccountId> = users.iter().map(|u| u.account_id).collect();
        ids.dedup();
        let accounts = store::notices::accounts_by_ids(&self.db, &ids).await?;
        Ok(users
            .into_iter()
            .filter_map(|user| {
                let account = accounts.get(&user.account_id)?.clone();
                Some(AudienceMember { user, account })
            })
            .collect())
    }

    /// The audience as CSV (RFC 4180): account, name, email, language.
    pub async fn audience_csv(
        &self,
        caller: &PlatformCaller<'_>,
        audience: &Audience,
    ) -> AppResult<String> {
        let members = self.audience_members(caller, audience, None).await?;
        let mut writer = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| AppError::Internal(format!("writing CSV: {e}"));
        writer
            .write_record(["account", "account_name", "name", "email", "language"])
            .map_err(io)?;
        for member in &members {
            writer
                .write_record([
                    member.account.slug.as_str(),
                    member.account.name.as_str(),
                    &person_name(&member.user),
                    member.user.email.as_deref().unwrap_or_default(),
                    member
                        .user
                        .preferred_language
                        .as_deref()
                        .unwrap_or(&self.mailer.default_language),
                ])
                .map_err(io)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| AppError::Internal(format!("writing CSV: {e}")))?;
        String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Records a notice and starts its fan-out; the integration notice also shows in the
    /// product of every account it concerns (a contact for the integration, or a connection).
    pub async fn send_notice(
        &self,
        caller: &PlatformCaller<'_>,
        audience: Audience,
        content: NoticeContent,
    ) -> AppResult<notice::Model> {
        caller.require(&[OperatorScope::NoticesWrite])?;
        let (kind, key, topic) = match &audience {
            Audience::IntegrationContacts(key) => {
                (NoticeAudience::IntegrationContacts, Some(key.clone()), None)
            }
            Audience::TopicContacts(topic) => (NoticeAudience::TopicContacts, None, Some(*topic)),
            Audience::InterviewCandidates | Audience::Marketing => {
                return Err(AppError::BadInput(
                    "notices go to integration or topic contacts".into(),
                ));
            }
        };
        self.check_audience(&audience, "input")?;
        content.validate()?;
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let size = store::notices::audience_count(&txn, &audience).await?;
        let concerned = match &key {
            Some(key) => store::notices::concerned_accounts(&txn, key).await?,
            None => Vec::new(),
        };
        if size == 0 && concerned.is_empty() {
            return Err(AppError::rejected(UserError::new(
                &["input"],
                "EMPTY_AUDIENCE",
                "no one would receive this notice",
            )));
        }
        let translations: BTreeMap<&str, &NoticeText> = content
            .translations
            .iter()
            .map(|(language, text)| (language.as_str(), text))
            .collect();
        let id = Uuid::new_v4();
        let notice = store::notices::insert(
            &txn,
            notice::ActiveModel {
                id: Set(id),
                audience: Set(kind),
                integration_key: Set(key),
                topic: Set(topic),
                kind: Set(content.kind),
                subject: Set(content.text.subject.trim().to_owned()),
                body: Set(content.text.body.trim().to_owned()),
                translations: Set(json!(translations)),
                status: Set(NoticeStatus::Sending),
                audience_size: Set(i32::try_from(size).unwrap_or(i32::MAX)),
                fanout_cursor: Set(None),
                created_by: Set(caller.label().to_owned()),
                created_at: Set(now),
                completed_at: Set(None),
            },
        )
        .await?;
        store::notices::insert_notice_accounts(&txn, id, &concerned, now).await?;
        enqueue_fan_out(&txn, self, id, None).await?;
        txn.commit().await?;
        tracing::info!(notice = %id, by = caller.label(), audience = size, "notice sent");
        Ok(notice)
    }

    /// Sends one notice, rendered as a recipient of `language` would get it, to one address.
    pub async fn send_test_notice(
        &self,
        caller: &PlatformCaller<'_>,
        to: &str,
        language: Option<&str>,
        audience: Audience,
        content: NoticeContent,
    ) -> AppResult<Uuid> {
        caller.require(&[OperatorScope::NoticesWrite])?;
        let (address, language) = super::platform::test_recipient(to, language)?;
        self.check_audience(&audience, "input")?;
        content.validate()?;
        let default = self.mailer.default_language.clone();
        let (used, text) = content.for_language(language.as_ref().map(|l| l.as_str()), &default);
        let context = notice_context(self, &audience, text, "Example account");
        let txn = begin_write(&self.db).await?;
        let id = self
            .send_email(
                &txn,
                OutgoingEmail {
                    account_id: None,
                    recipient_user_id: None,
                    to_address: address.as_str(),
                    to_name: None,
                    template: "notice",
                    language: Some(used),
                    context,
                },
            )
            .await?;
        txn.commit().await?;
        Ok(id)
    }

    pub async fn notice(&self, caller: &PlatformCaller<'_>, id: Uuid) -> AppResult<notice::Model> {
        caller.require(&[OperatorScope::NoticesRead])?;
        store::notices::find(&self.db, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn notices(
        &self,
        caller: &PlatformCaller<'_>,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<notice::Model>> {
        caller.require(&[OperatorScope::NoticesRead])?;
        Ok(store::notices::page(&self.db, offset, limit).await?)
    }

    pub async fn notices_count(&self, caller: &PlatformCaller<'_>) -> AppResult<u64> {
        caller.require(&[OperatorScope::NoticesRead])?;
        Ok(store::notices::count(&self.db).await?)
    }

    /// How delivery of a notice stands.
    pub async fn notice_delivery(
        &self,
        caller: &PlatformCaller<'_>,
        id: Uuid,
    ) -> AppResult<NoticeDelivery> {
        caller.require(&[OperatorScope::NoticesRead])?;
        let counts = store::notices::delivery_counts(&self.db, id).await?;
        let get = |status| counts.get(&status).copied().unwrap_or(0);
        let delivered = get(OutboxStatus::Delivered);
        let failed = get(OutboxStatus::Failed);
        let pending = get(OutboxStatus::Pending);
        Ok(NoticeDelivery {
            recipients: delivered + failed + pending,
            delivered,
            failed,
            pending,
        })
    }

    pub async fn notice_recipients(
        &self,
        caller: &PlatformCaller<'_>,
        id: Uuid,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<NoticeRecipient>> {
        caller.require(&[OperatorScope::NoticesRead])?;
        let rows = store::notices::recipients_page(&self.db, id, offset, limit).await?;
        let mut ids: Vec<AccountId> = rows.iter().map(|(r, _)| r.account_id).collect();
        ids.dedup();
        let accounts = store::notices::accounts_by_ids(&self.db, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|(recipient, message)| NoticeRecipient {
                account: accounts.get(&recipient.account_id).cloned(),
                recipient,
                message,
            })
            .collect())
    }

    pub async fn notice_recipient_count(
        &self,
        caller: &PlatformCaller<'_>,
        id: Uuid,
    ) -> AppResult<u64> {
        caller.require(&[OperatorScope::NoticesRead])?;
        Ok(store::notices::recipient_count(&self.db, id).await?)
    }

    /// The integration notices that concern the caller's account, newest first, each with
    /// whether the caller dismissed it. Needs INTEGRATIONS READ.
    pub async fn account_notices(
        &self,
        caller: &AccountUser,
        unread_only: bool,
    ) -> AppResult<Vec<(notice::Model, bool)>> {
        caller.require(Area::Integrations, Level::Read)?;
        let notices =
            store::notices::for_account(&self.db, caller.account_id, caller.user_id).await?;
        Ok(notices
            .into_iter()
            .filter(|(_, dismissed)| !unread_only || !dismissed)
            .collect())
    }

    /// Hides a notice from the caller's product view.
    pub async fn dismiss_notice(&self, caller: &AccountUser, id: Uuid) -> AppResult<notice::Model> {
        caller.require(Area::Integrations, Level::Read)?;
        let txn = begin_write(&self.db).await?;
        if !store::notices::concerns(&txn, caller.account_id, id).await? {
            return Err(AppError::NotFound);
        }
        store::notices::dismiss(
            &txn,
            caller.account_id,
            caller.user_id,
            id,
            self.clock.now(),
        )
        .await?;
        let notice = store::notices::find(&txn, id)
            .await?
            .ok_or(AppError::NotFound)?;
        txn.commit().await?;
        Ok(notice)
    }

    /// The notice's text in the viewer's language.
    pub fn notice_text_for(&self, notice: &notice::Model, language: Option<&str>) -> NoticeText {
        let content = NoticeContent::from_notice(notice);
        content
            .for_language(language, &self.mailer.default_language)
            .1
            .clone()
    }

    /// Writes the next batch of a notice's recipients: their outbox messages, the recipient rows
    /// and the cursor in one transaction; then the next step, if any, is enqueued in it too.
    async fn fan_out_batch(&self, id: Uuid, batch: u64) -> Result<(), JobFailure> {
        let Some(notice) = store::notices::find(&self.db, id).await? else {
            return Err(JobFailure::Permanent(format!("notice {id} does not exist")));
        };
        if notice.status == NoticeStatus::Sent {
            return Ok(());
        }
        let audience = audience_of(&notice)
            .ok_or_else(|| JobFailure::Permanent(format!("notice {id} names no audience")))?;
        let content = NoticeContent::from_notice(&notice);
        let after = notice.fanout_cursor.map(UserId);
        let people = store::notices::audience_batch(&self.db, &audience, after, batch).await?;
        let finished = u64::try_from(people.len()).unwrap_or(0) < batch;
        let cursor = people.last().map(|u| u.id.0).or(notice.fanout_cursor);
        let now = self.clock.now();
        let txn = begin_write(&self.db).await?;
        let done = if finished {
            let total = store::notices::recipient_count(&txn, id).await? + people.len() as u64;
            Some((i32::try_from(total).unwrap_or(i32::MAX), now))
        } else {
            None
        };
        if !store::notices::advance_cursor(&txn, id, notice.fanout_cursor, cursor, done).await? {
            // Another worker wrote this batch already; it also enqueued the next step.
            return Ok(());
        }
        let mut accounts: Vec<AccountId> = people.iter().map(|u| u.account_id).collect();
        accounts.sort();
        accounts.dedup();
        let accounts = store::notices::accounts_by_ids(&txn, &accounts).await?;
        let default = self.mailer.default_language.clone();
        let mut rows = Vec::with_capacity(people.len());
        for person in &people {
            let (language, text) =
                content.for_language(person.preferred_language.as_deref(), &default);
            let account_name = accounts
                .get(&person.account_id)
                .map_or("", |a| a.name.as_str());
            let name = person_name(person);
            let message = self
                .send_email(
                    &txn,
                    OutgoingEmail {
                        account_id: Some(person.account_id),
                        recipient_user_id: Some(person.id),
                        to_address: person.email.as_deref().unwrap_or_default(),
                        to_name: Some(&name),
                        template: "notice",
                        language: Some(language),
                        context: notice_context(self, &audience, text, account_name),
                    },
                )
                .await?;
            rows.push(notice_recipient::ActiveModel {
                notice_id: Set(id),
                user_id: Set(person.id),
                account_id: Set(person.account_id),
                language: Set(language.to_owned()),
                outbox_message_id: Set(message),
                created_at: Set(now),
            });
        }
        store::notices::insert_recipients(&txn, rows).await?;
        if !finished {
            enqueue_fan_out(&txn, self, id, cursor).await?;
        }
        txn.commit().await.map_err(AppError::from)?;
        Ok(())
    }
}

async fn enqueue_fan_out(
    txn: &DatabaseTransaction,
    services: &Services,
    id: Uuid,
    cursor: Option<Uuid>,
) -> AppResult<()> {
    let step = cursor.map_or_else(|| "start".to_owned(), |c| c.simple().to_string());
    crate::jobs::worker::enqueue(
        txn,
        services,
        None,
        FAN_OUT,
        json!({ "noticeId": id }),
        FAN_OUT_ATTEMPTS,
        Some(format!("notice:{id}:{step}")),
    )
    .await?;
    Ok(())
}

/// Fans a notice out, one batch of recipients per run.
pub struct FanOutNotice {
    pub batch: u64,
}

#[async_trait::async_trait]
impl JobHandler for FanOutNotice {
    fn kind(&self) -> &'static str {
        FAN_OUT
    }

    async fn run(&self, ctx: JobContext<'_>) -> Result<(), JobFailure> {
        let id = ctx
            .job
            .payload
            .get("noticeId")
            .and_then(Value::as_str)
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| JobFailure::Permanent("the job has no notice id".into()))?;
        ctx.services.fan_out_batch(id, self.batch.max(1)).await
    }
}
