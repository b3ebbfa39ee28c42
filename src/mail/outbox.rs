//! The outbox: every email is a row written in the same transaction as the change that causes it
//! (`Services::send_email` takes the transaction, so there is no other way to send), rendered at
//! that moment, and delivered by the `mail.deliver` job with retries. Delivery is at least once
//! with a stable Message-ID per row: the only window for a duplicate is between the SMTP server's
//! acceptance and our commit, and receivers can de-duplicate on the Message-ID. A permanent
//! failure (5xx) marks the recipient's address invalid and tells the account's admins. An email
//! that carries a secret (an invite link) has its bodies encrypted with the key ring at rest.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseTransaction};
use serde_json::{Value, json};
use uuid::Uuid;

use secrecy::ExposeSecret;

use super::templates::Templates;
use super::transport::{MailTransport, OutgoingMessage, SendError};
use crate::crypto::keyring::Binding;
use crate::domain::ids::{AccountId, UserId};
use crate::error::{AppError, AppResult};
use crate::jobs::{JobContext, JobFailure, JobHandler};
use crate::service::Services;
use crate::store;
use crate::store::entities::outbox_message::{self, OutboxStatus};

/// The job kind that delivers one outbox message.
pub const DELIVER: &str = "mail.deliver";
/// Attempts before a message is given up (about 4 hours of backoff).
const DELIVERY_ATTEMPTS: i32 = 10;

/// Templates, transport and sender.
pub struct Mailer {
    pub templates: Templates,
    pub transport: MailTransport,
    pub from: String,
    pub default_language: String,
    /// The right-hand side of Message-IDs.
    pub message_id_domain: String,
}

/// An email to send.
#[derive(Clone, Debug)]
pub struct Email<'a> {
    pub account_id: Option<AccountId>,
    /// The user it goes to, if it is one: a permanent failure marks their address invalid.
    pub recipient_user_id: Option<UserId>,
    pub to_address: &'a str,
    pub to_name: Option<&'a str>,
    pub template: &'a str,
    /// The recipient's preferred language (BCP 47); the default language when absent.
    pub language: Option<&'a str>,
    pub context: Value,
}

impl Services {
    /// Records an email and its delivery job inside `txn`: both exist exactly when the change
    /// does. Nothing is sent from inside a request.
    pub async fn send_email(&self, txn: &DatabaseTransaction, email: Email<'_>) -> AppResult<Uuid> {
        self.queue_email(txn, email, false).await
    }

    /// As `send_email`, for an email whose body carries a secret: the bodies are stored
    /// encrypted and decrypted only for delivery.
    pub async fn send_email_with_secret(
        &self,
        txn: &DatabaseTransaction,
        email: Email<'_>,
    ) -> AppResult<Uuid> {
        self.queue_email(txn, email, true).await
    }

    async fn queue_email(
        &self,
        txn: &DatabaseTransaction,
        email: Email<'_>,
        secret: bool,
    ) -> AppResult<Uuid> {
        let mailer = &self.mailer;
        let language = email.language.unwrap_or(&mailer.default_language);
        let rendered = mailer
            .templates
            .render(email.template, language, &email.context)
            .map_err(|error| {
                AppError::Internal(format!("email template {}: {error}", email.template))
            })?;
        let id = Uuid::new_v4();
        let now = self.clock.now();
        let seal = |body: String, field: &'static str| {
            if secret {
                self.keyring
                    .encrypt(body.as_bytes(), &body_binding(id, field))
            } else {
                body
            }
        };
        store::outbox::insert(
            txn,
            outbox_message::ActiveModel {
                id: Set(id),
                account_id: Set(email.account_id),
                recipient_user_id: Set(email.recipient_user_id),
                to_address: Set(email.to_address.to_owned()),
                to_name: Set(email.to_name.map(str::to_owned)),
                template: Set(email.template.to_owned()),
                language: Set(rendered.language.clone()),
                subject: Set(rendered.subject),
                text_body: Set(seal(rendered.text, "text_body")),
                html_body: Set(rendered.html.map(|html| seal(html, "html_body"))),
                body_encrypted: Set(secret),
                message_id: Set(format!("<{}@{}>", id.simple(), mailer.message_id_domain)),
                status: Set(OutboxStatus::Pending),
                attempts: Set(0),
                last_reply: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                delivered_at: Set(None),
            },
        )
        .await?;
        crate::jobs::worker::enqueue(
            txn,
            self,
            email.account_id,
            DELIVER,
            json!({ "outboxId": id }),
            DELIVERY_ATTEMPTS,
            Some(format!("mail:{id}")),
        )
        .await?;
        Ok(id)
    }
}

fn body_binding(id: Uuid, field: &'static str) -> Binding<'static> {
    Binding {
        table: "outbox_messages",
        field,
        account_id: None,
        record_id: id,
    }
}

/// A stored body as it is sent: decrypted when it was stored encrypted.
fn opened(
    services: &Services,
    message: &outbox_message::Model,
    body: &str,
    field: &'static str,
) -> Result<String, JobFailure> {
    if !message.body_encrypted {
        return Ok(body.to_owned());
    }
    services
        .keyring
        .decrypt(body, &body_binding(message.id, field))
        .map(|plain| plain.expose_secret().to_owned())
        .map_err(|error| JobFailure::Permanent(format!("outbox message {}: {error}", message.id)))
}

/// Delivers one outbox message.
pub struct DeliverEmail;

fn outbox_id(payload: &Value) -> Result<Uuid, JobFailure> {
    payload
        .get("outboxId")
        .and_then(Value::as_str)
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| JobFailure::Permanent("the job has no outbox id".into()))
}

async fn record(
    services: &Services,
    message: &outbox_message::Model,
    status: OutboxStatus,
    reply: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), JobFailure> {
    store::outbox::record_attempt(&services.db, message.id, status, reply, now).await?;
    Ok(())
}

#[async_trait::async_trait]
impl JobHandler for DeliverEmail {
    fn kind(&self) -> &'static str {
        DELIVER
    }

    async fn run(&self, ctx: JobContext<'_>) -> Result<(), JobFailure> {
        let services = ctx.services;
        let id = outbox_id(&ctx.job.payload)?;
        let Some(message) = store::outbox::find(&services.db, id).await? else {
            return Err(JobFailure::Permanent(format!(
                "outbox message {id} does not exist"
            )));
        };
        if message.status != OutboxStatus::Pending {
            return Ok(());
        }
        let outgoing = OutgoingMessage {
            from: services.mailer.from.clone(),
            to_address: message.to_address.clone(),
            to_name: message.to_name.clone(),
            subject: message.subject.clone(),
            text: opened(services, &message, &message.text_body, "text_body")?,
            html: message
                .html_body
                .as_deref()
                .map(|html| opened(services, &message, html, "html_body"))
                .transpose()?,
            message_id: message.message_id.clone(),
            language: Some(message.language.clone()),
        };
        let result = services.mailer.transport.send(&outgoing).await;
        let now = services.clock.now();
        match result {
            Ok(()) => {
                record(
                    services,
                    &message,
                    OutboxStatus::Delivered,
                    Some("accepted"),
                    now,
                )
                .await
            }
            Err(SendError::Permanent { reply }) => {
                record(services, &message, OutboxStatus::Failed, Some(&reply), now).await?;
                if let Some(user) = message.recipient_user_id {
                    let txn = store::begin_write(&services.db).await?;
                    let newly_invalid =
                        store::outbox::mark_address_invalid(&txn, user, &message.to_address, now)
                            .await?;
                    if newly_invalid && let Some(account) = message.account_id {
                        services
                            .tell_admins_of_bounce(&txn, account, user, &message.to_address)
                            .await?;
                    }
                    txn.commit().await?;
                }
                Err(JobFailure::Permanent(format!("permanent failure: {reply}")))
            }
            Err(SendError::Transient { reply }) => {
                let status = if ctx.last_attempt() {
                    OutboxStatus::Failed
                } else {
                    OutboxStatus::Pending
                };
                record(services, &message, status, Some(&reply), now).await?;
                Err(JobFailure::Retry(format!("temporary failure: {reply}")))
            }
        }
    }
}
