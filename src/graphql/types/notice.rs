//! Notices from the vendor: as an account's users see them in the product, and as platform
//! operators see them (the notice, its delivery and recipients, and audience previews).

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::enums::{ContactTopicName, NoticeKind};
use super::integration::Integration;
use super::platform::OutboxStatus;
use crate::auth::principal::Operator;
use crate::domain::contact::Audience;
use crate::error::AppResult;
use crate::graphql::context::{caller, loaders, max_page, principal, services};
use crate::graphql::relay::{self, CursorScope, TotalCount, encode_id};
use crate::service::Services;
use crate::service::notices::{
    self as notices_service, AudienceSummary, NoticeContent, NoticeDelivery,
};
use crate::service::platform::{self, PlatformCaller};
use crate::store::entities::notice::{self, NoticeStatus as DomainStatus};

pub const NOTICE: &str = "Notice";

/// A notice as an account's users see it in the product.
pub struct AccountNotice {
    pub notice: notice::Model,
    pub dismissed: bool,
}

/// A notice from the vendor about an integration the account uses, shown until dismissed.
#[Object]
impl AccountNotice {
    /// Opaque global id.
    async fn id(&self) -> ID {
        encode_id(NOTICE, &self.notice.id.to_string())
    }
    /// What the notice is about.
    async fn kind(&self) -> NoticeKind {
        self.notice.kind.into()
    }
    /// The integration it concerns.
    async fn integration(&self, ctx: &Context<'_>) -> Option<Integration> {
        let key = self.notice.integration_key.as_ref()?;
        let entry = services(ctx).catalog.get(key)?.clone();
        Some(Integration {
            entry,
            connection: None,
        })
    }
    /// The subject, in the viewer's language where a translation exists.
    async fn subject(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(text_for_viewer(ctx, &self.notice).await?.subject)
    }
    /// The text, in the viewer's language where a translation exists.
    async fn body(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(text_for_viewer(ctx, &self.notice).await?.body)
    }
    /// When the vendor sent it.
    async fn created_at(&self) -> DateTime<Utc> {
        self.notice.created_at
    }
    /// Whether the viewer dismissed it.
    async fn dismissed(&self) -> bool {
        self.dismissed
    }
}

async fn text_for_viewer(
    ctx: &Context<'_>,
    notice: &notice::Model,
) -> async_graphql::Result<notices_service::NoticeText> {
    // Through the request's loader: one look-up of the viewer for every notice and field.
    let viewer = loaders(ctx)?.users().load_one(caller(ctx)?.user_id).await?;
    let language = viewer.and_then(|v| v.preferred_language.clone());
    Ok(services(ctx).notice_text_for(notice, language.as_deref()))
}

/// Who a notice goes to.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum NoticeAudienceKind {
    /// The contacts of one integration in every account.
    IntegrationContacts,
    /// The contacts of one topic in every account.
    TopicContacts,
}

/// Where a notice's fan-out stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum NoticeStatus {
    /// Recipients are still being written to the outbox.
    Sending,
    /// Every recipient has a message in the outbox.
    Sent,
}

/// A translation of a notice.
#[derive(SimpleObject, Clone)]
pub struct NoticeTranslation {
    /// BCP 47 tag.
    pub language: String,
    pub subject: String,
    pub body: String,
}

/// A notice as platform operators see it.
pub struct PlatformNotice {
    pub notice: notice::Model,
    pub operator: Operator,
    delivery: OnceCell<NoticeDelivery>,
}

impl PlatformNotice {
    pub fn new(notice: notice::Model, operator: Operator) -> Self {
        Self {
            notice,
            operator,
            delivery: OnceCell::new(),
        }
    }

    async fn delivery(&self, ctx: &Context<'_>) -> AppResult<NoticeDelivery> {
        let services = services(ctx);
        self.delivery
            .get_or_try_init(|| async {
                services
                    .notice_delivery(&PlatformCaller::Operator(&self.operator), self.notice.id)
                    .await
            })
            .await
            .copied()
    }
}

/// A notice from the vendor: what was sent to whom, and how delivery stands.
#[Object(name = "Notice")]
impl PlatformNotice {
    /// Opaque global id.
    async fn id(&self) -> ID {
        encode_id(NOTICE, &self.notice.id.to_string())
    }
    /// Who it goes to.
    async fn audience(&self) -> NoticeAudienceKind {
        match self.notice.audience {
            notice::NoticeAudience::IntegrationContacts => NoticeAudienceKind::IntegrationContacts,
            notice::NoticeAudience::TopicContacts => NoticeAudienceKind::TopicContacts,
        }
    }
    /// The integration, for a notice to integration contacts.
    async fn integration_key(&self) -> Option<&str> {
        self.notice.integration_key.as_deref()
    }
    /// The topic, for a notice to topic contacts.
    async fn topic(&self) -> Option<ContactTopicName> {
        self.notice.topic.map(Into::into)
    }
    /// What it is about.
    async fn kind(&self) -> NoticeKind {
        self.notice.kind.into()
    }
    /// The default subject.
    async fn subject(&self) -> &str {
        &self.notice.subject
    }
    /// The default text.
    async fn body(&self) -> &str {
        &self.notice.body
    }
    /// Its translations.
    async fn translations(&self) -> Vec<NoticeTranslation> {
        NoticeContent::from_notice(&self.notice)
            .translations
            .into_iter()
            .map(|(language, text)| NoticeTranslation {
                language,
                subject: text.subject,
                body: text.body,
            })
            .collect()
    }
    /// Whether every recipient's message is in the outbox.
    async fn status(&self) -> NoticeStatus {
        match self.notice.status {
            DomainStatus::Sending => NoticeStatus::Sending,
            DomainStatus::Sent => NoticeStatus::Sent,
        }
    }
    /// The operator who sent it.
    async fn created_by(&self) -> &str {
        &self.notice.created_by
    }
    /// When it was sent.
    async fn created_at(&self) -> DateTime<Utc> {
        self.notice.created_at
    }
    /// When the last recipient's message was written to the outbox.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.notice.completed_at
    }
    /// How many people it goes to: the audience counted when it was sent, and the recipients
    /// actually written once the fan-out is done.
    async fn audience_size(&self) -> i32 {
        self.notice.audience_size
    }
    /// Messages the SMTP server accepted.
    async fn delivered(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(count(self.delivery(ctx).await?.delivered))
    }
    /// Messages refused for good (the address is then marked invalid).
    async fn failed(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(count(self.delivery(ctx).await?.failed))
    }
    /// Messages waiting for (another) delivery attempt, plus recipients not yet written.
    async fn pending(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let delivery = self.delivery(ctx).await?;
        let not_written = u64::try_from(self.notice.audience_size)
            .unwrap_or(0)
            .saturating_sub(delivery.recipients);
        let not_written = if self.notice.status == DomainStatus::Sending {
            not_written
        } else {
            0
        };
        Ok(count(delivery.pending + not_written))
    }
    /// The recipients written so far, by account, with their delivery state.
    #[graphql(complexity = "relay::page_complexity(first, None, child_complexity)")]
    async fn recipients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many recipients, 1 to the maximum page size; 20 when omitted.")]
        first: Option<i32>,
        #[graphql(desc = "Start after this edge `cursor`.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, NoticeRecipient, TotalCount>> {
        let id = self.notice.id;
        let scope = CursorScope {
            list: "noticeRecipients",
            ordering: id.to_string(),
            account: None,
        };
        relay::services_page(
            ctx,
            self.operator.clone(),
            (first, after),
            scope,
            move |services, operator| async move {
                services
                    .notice_recipient_count(&PlatformCaller::Operator(&operator), id)
                    .await
            },
            move |services, operator, offset, limit| async move {
                let rows = services
                    .notice_recipients(&PlatformCaller::Operator(&operator), id, offset, limit)
                    .await?;
                Ok(rows.into_iter().map(NoticeRecipient).collect())
            },
        )
        .await
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One recipient of a notice.
pub struct NoticeRecipient(pub notices_service::NoticeRecipient);

/// One recipient of a notice, and how delivery to them went.
#[Object]
impl NoticeRecipient {
    /// The name the message was addressed to.
    async fn name(&self) -> Option<&str> {
        self.0.message.as_ref()?.to_name.as_deref()
    }
    /// The address it was sent to.
    async fn email(&self) -> Option<&str> {
        self.0.message.as_ref().map(|m| m.to_address.as_str())
    }
    /// The recipient's account (slug).
    async fn account_slug(&self) -> Option<&str> {
        self.0.account.as_ref().map(|a| a.slug.as_str())
    }
    /// The recipient's account (name).
    async fn account_name(&self) -> Option<&str> {
        self.0.account.as_ref().map(|a| a.name.as_str())
    }
    /// The language of the text they were sent.
    async fn language(&self) -> &str {
        &self.0.recipient.language
    }
    /// Delivery state of their message.
    async fn status(&self) -> Option<OutboxStatus> {
        self.0.message.as_ref().map(|m| m.status.into())
    }
    /// When the SMTP server accepted it.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.message.as_ref()?.delivered_at
    }
    /// The outbox message's id (see `outboxMessages`).
    async fn outbox_message_id(&self) -> Uuid {
        self.0.recipient.outbox_message_id
    }
}

/// An audience's size in one account.
#[derive(SimpleObject)]
pub struct AudienceAccount {
    pub account_slug: String,
    pub account_name: String,
    pub count: i64,
}

/// How many people of an audience prefer one language.
#[derive(SimpleObject)]
pub struct AudienceLanguage {
    /// BCP 47 tag as stored (the default language for people without one).
    pub language: String,
    pub count: i64,
}

/// One person of an audience.
#[derive(SimpleObject)]
pub struct AudienceMember {
    pub account_slug: String,
    pub account_name: String,
    pub name: String,
    pub email: Option<String>,
    pub language: Option<String>,
}

/// Who an audience reaches: reachable people only (ACTIVE, address not bounced, account not
/// suspended), with consent where the audience needs it.
pub struct NoticeAudience {
    pub audience: Audience,
    pub operator: Operator,
    summary: OnceCell<AudienceSummary>,
}

impl NoticeAudience {
    pub fn new(audience: Audience, operator: Operator) -> Self {
        Self {
            audience,
            operator,
            summary: OnceCell::new(),
        }
    }

    async fn summary(&self, services: &Services) -> AppResult<&AudienceSummary> {
        self.summary
            .get_or_try_init(|| async {
                services
                    .notice_audience(&PlatformCaller::Operator(&self.operator), &self.audience)
                    .await
            })
            .await
    }
}

/// Who an audience reaches, per account and language; the people; and a CSV export.
#[Object]
impl NoticeAudience {
    /// How many people.
    async fn total(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        Ok(count(self.summary(services(ctx)).await?.total))
    }
    /// How many people per account, by slug.
    async fn accounts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AudienceAccount>> {
        Ok(self
            .summary(services(ctx))
            .await?
            .by_account
            .iter()
            .map(|(account, n)| AudienceAccount {
                account_slug: account.slug.clone(),
                account_name: account.name.clone(),
                count: count(*n),
            })
            .collect())
    }
    /// How many people per preferred language.
    async fn languages(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AudienceLanguage>> {
        Ok(self
            .summary(services(ctx))
            .await?
            .by_language
            .iter()
            .map(|(language, n)| AudienceLanguage {
                language: language.clone(),
                count: count(*n),
            })
            .collect())
    }
    /// The people, by account.
    #[graphql(complexity = "relay::page_complexity(first, None, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many people, 1 to the maximum page size; 20 when omitted.")]
        first: Option<i32>,
        #[graphql(desc = "Start after this edge `cursor`.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, AudienceMember, TotalCount>> {
        let services = services(ctx).clone();
        let operator = self.operator.clone();
        let audience = self.audience.clone();
        let scope = CursorScope {
            list: "audienceMembers",
            ordering: format!("{audience:?}"),
            account: None,
        };
        let count = {
            let (services, operator, audience) =
                (services.clone(), operator.clone(), audience.clone());
            move || {
                let (services, operator, audience) =
                    (services.clone(), operator.clone(), audience.clone());
                async move {
                    services
                        .audience_count(&PlatformCaller::Operator(&operator), &audience)
                        .await
                }
            }
        };
        Ok(relay::forward_page(
            (first, after),
            &scope,
            max_page(ctx),
            count,
            |offset, limit| async move {
                let members = services
                    .audience_members(
                        &PlatformCaller::Operator(&operator),
                        &audience,
                        Some((offset, limit)),
                    )
                    .await?;
                Ok(members.into_iter().map(member).collect())
            },
        )
        .await?)
    }
    /// Every person as CSV (RFC 4180, header `account,account_name,name,email,language`).
    async fn csv(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(services(ctx)
            .audience_csv(&PlatformCaller::Operator(&self.operator), &self.audience)
            .await?)
    }
}

fn member(member: notices_service::AudienceMember) -> AudienceMember {
    AudienceMember {
        account_slug: member.account.slug,
        account_name: member.account.name,
        name: notices_service::person_name(&member.user),
        email: member.user.email,
        language: member.user.preferred_language,
    }
}

/// The operator calling, cloned for lazily resolved fields.
pub fn operator(ctx: &Context<'_>) -> async_graphql::Result<Operator> {
    Ok(platform::operator(principal(ctx))?.clone())
}

/// Parses a notice's global id.
pub fn notice_id(id: &ID) -> AppResult<Uuid> {
    relay::decode_typed::<Uuid>(id, NOTICE)
}
