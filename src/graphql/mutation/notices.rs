//! Platform operators send notices (scope `notices:write`): to the contacts of one integration in
//! every account, or to the contacts of one topic; and test notices to one address.

use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::domain::contact::Audience;
use crate::graphql::context::services;
use crate::graphql::types::enums::{ContactTopicName, NoticeKind};
use crate::graphql::types::notice::{PlatformNotice, operator};
use crate::graphql::types::payload::{outcome, payload};
use crate::service::notices::{NoticeContent, NoticeText};
use crate::service::platform::PlatformCaller;

/// A notice's text in one more language.
#[derive(InputObject, Clone)]
pub struct NoticeTranslationInput {
    /// BCP 47 tag, e.g. `de` or `pt-BR`; a recipient gets their language, else its base
    /// language, else the default text.
    pub language: String,
    /// One line, 1 to 300 characters.
    pub subject: String,
    /// 1 to 20,000 characters; blank lines separate paragraphs.
    pub body: String,
}

/// A notice to the contacts of one integration in every account.
#[derive(InputObject)]
pub struct SendIntegrationNoticeInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The catalog key, e.g. `intercom`.
    pub integration_key: String,
    /// What it is about.
    pub kind: NoticeKind,
    /// The default subject: one line, 1 to 300 characters.
    pub subject: String,
    /// The default text: 1 to 20,000 characters; blank lines separate paragraphs.
    pub body: String,
    /// Translations, at most 50.
    #[graphql(default)]
    pub translations: Vec<NoticeTranslationInput>,
}

/// A notice to the contacts of one topic in every account.
#[derive(InputObject)]
pub struct SendTopicNoticeInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The topic; PRODUCT_UPDATES reaches only contacts who consented to product updates.
    pub topic: ContactTopicName,
    /// What it is about.
    #[graphql(default_with = "NoticeKind::Information")]
    pub kind: NoticeKind,
    /// The default subject: one line, 1 to 300 characters.
    pub subject: String,
    /// The default text: 1 to 20,000 characters; blank lines separate paragraphs.
    pub body: String,
    /// Translations, at most 50.
    #[graphql(default)]
    pub translations: Vec<NoticeTranslationInput>,
}

/// A notice rendered as a recipient of `language` would get it, sent to one address. Name either
/// an integration or a topic.
#[derive(InputObject)]
pub struct SendTestNoticeInput {
    /// Echoed by the payload.
    pub client_mutation_id: Option<String>,
    /// The address to send it to.
    pub to: String,
    /// The language to render it in (BCP 47); the default text when absent.
    pub language: Option<String>,
    /// The catalog key, for an integration notice.
    pub integration_key: Option<String>,
    /// The topic, for a topic notice.
    pub topic: Option<ContactTopicName>,
    /// What it is about.
    #[graphql(default_with = "NoticeKind::Information")]
    pub kind: NoticeKind,
    /// The default subject.
    pub subject: String,
    /// The default text.
    pub body: String,
    /// Translations.
    #[graphql(default)]
    pub translations: Vec<NoticeTranslationInput>,
}

payload!(
    /// The notice; its fan-out runs in the background (`notice(id)` follows it).
    SendNoticePayload { notice: PlatformNotice }
);

/// The recorded test message.
#[derive(SimpleObject)]
pub struct SendTestNoticePayload {
    /// Echo of the input's `clientMutationId`.
    pub client_mutation_id: Option<String>,
    /// The outbox message (see `outboxMessages`); absent when `userErrors` is not empty.
    pub outbox_message_id: Option<uuid::Uuid>,
    /// Why the input was rejected; empty on success.
    pub user_errors: Vec<crate::graphql::types::payload::UserError>,
}

fn content(
    kind: NoticeKind,
    subject: String,
    body: String,
    translations: Vec<NoticeTranslationInput>,
) -> NoticeContent {
    NoticeContent {
        kind: kind.into(),
        text: NoticeText { subject, body },
        translations: translations
            .into_iter()
            .map(|t| {
                (
                    t.language,
                    NoticeText {
                        subject: t.subject,
                        body: t.body,
                    },
                )
            })
            .collect(),
    }
}

#[derive(Default)]
pub struct NoticeMutation;

#[Object]
impl NoticeMutation {
    /// Sends a notice to the contacts of one integration in every account (reachable people
    /// only: ACTIVE, address not bounced, account not suspended), exactly one message each, in
    /// their language where a translation exists. It also shows in the product of every account
    /// with a contact for, or a connection to, the integration. Platform operators only (scope
    /// `notices:write`).
    async fn send_integration_notice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The integration and the text.")] input: SendIntegrationNoticeInput,
    ) -> async_graphql::Result<SendNoticePayload> {
        let operator = operator(ctx)?;
        let result = services(ctx)
            .send_notice(
                &PlatformCaller::Operator(&operator),
                Audience::IntegrationContacts(input.integration_key),
                content(input.kind, input.subject, input.body, input.translations),
            )
            .await;
        SendNoticePayload::from_result(input.client_mutation_id, result, |notice| {
            PlatformNotice::new(notice, operator.clone())
        })
    }

    /// Sends a notice to the contacts of one topic in every account; PRODUCT_UPDATES reaches
    /// only contacts who consented to product updates. Platform operators only (scope
    /// `notices:write`).
    async fn send_topic_notice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The topic and the text.")] input: SendTopicNoticeInput,
    ) -> async_graphql::Result<SendNoticePayload> {
        let operator = operator(ctx)?;
        let result = services(ctx)
            .send_notice(
                &PlatformCaller::Operator(&operator),
                Audience::TopicContacts(input.topic.into()),
                content(input.kind, input.subject, input.body, input.translations),
            )
            .await;
        SendNoticePayload::from_result(input.client_mutation_id, result, |notice| {
            PlatformNotice::new(notice, operator.clone())
        })
    }

    /// Sends one notice, as a recipient of `language` would get it, to one address through the
    /// outbox. Platform operators only (scope `notices:write`).
    async fn send_test_notice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The address, the language and the notice.")] input: SendTestNoticeInput,
    ) -> async_graphql::Result<SendTestNoticePayload> {
        let operator = operator(ctx)?;
        let audience = match (input.integration_key, input.topic) {
            (Some(key), None) => Audience::IntegrationContacts(key),
            (None, Some(topic)) => Audience::TopicContacts(topic.into()),
            _ => {
                return Err(async_graphql::Error::from(
                    crate::error::AppError::BadInput(
                        "name either `integrationKey` or `topic`".into(),
                    ),
                ));
            }
        };
        let result = services(ctx)
            .send_test_notice(
                &PlatformCaller::Operator(&operator),
                &input.to,
                input.language.as_deref(),
                audience,
                content(input.kind, input.subject, input.body, input.translations),
            )
            .await;
        let (id, user_errors) = outcome(result)?;
        Ok(SendTestNoticePayload {
            client_mutation_id: input.client_mutation_id,
            outbox_message_id: id,
            user_errors,
        })
    }
}
