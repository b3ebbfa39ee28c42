//! Platform operators' reads of notices and audiences (scope `notices:read`). Audiences are the
//! only way operators see people of accounts: names, emails and languages of the vendor's
//! contacts, nothing else.

use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object};

use crate::domain::contact::Audience;
use crate::error::AppError;
use crate::graphql::context::services;
use crate::graphql::relay::{self, CursorScope, TotalCount};
use crate::graphql::types::enums::ContactTopicName;
use crate::graphql::types::notice::{NoticeAudience, PlatformNotice, notice_id, operator};
use crate::service::platform::PlatformCaller;

/// Which audience to preview.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum AudienceKind {
    /// The contacts of `integrationKey` in every account.
    IntegrationContacts,
    /// The contacts of `topic` in every account (PRODUCT_UPDATES: those who consented).
    TopicContacts,
    /// Marketing-eligible people who consented to product-usage interviews.
    InterviewCandidates,
    /// Marketing-eligible people (login users, and non-login people with a role or a topic) who
    /// consented to product updates.
    Marketing,
}

/// An audience: who a notice, an interview invitation or a campaign would reach.
#[derive(InputObject, Clone, Debug)]
pub struct NoticeAudienceInput {
    /// Which audience.
    pub audience: AudienceKind,
    /// For INTEGRATION_CONTACTS: the catalog key.
    pub integration_key: Option<String>,
    /// For TOPIC_CONTACTS: the topic.
    pub topic: Option<ContactTopicName>,
}

impl NoticeAudienceInput {
    pub fn to_audience(&self) -> Result<Audience, AppError> {
        Ok(match self.audience {
            AudienceKind::IntegrationContacts => {
                Audience::IntegrationContacts(self.integration_key.clone().ok_or(
                    AppError::BadInput("INTEGRATION_CONTACTS needs `integrationKey`".into()),
                )?)
            }
            AudienceKind::TopicContacts => Audience::TopicContacts(
                self.topic
                    .ok_or(AppError::BadInput("TOPIC_CONTACTS needs `topic`".into()))?
                    .into(),
            ),
            AudienceKind::InterviewCandidates => Audience::InterviewCandidates,
            AudienceKind::Marketing => Audience::Marketing,
        })
    }
}

#[derive(Default)]
pub struct NoticeQuery;

#[Object]
impl NoticeQuery {
    /// Who an audience reaches, per account and language, with the people and a CSV export.
    /// Platform operators only (scope `notices:read`).
    async fn notice_audience(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The audience.")] target: NoticeAudienceInput,
    ) -> async_graphql::Result<NoticeAudience> {
        let operator = operator(ctx)?;
        let audience = target.to_audience()?;
        // Checks the scope (and the integration key) now, not only in the sub-fields.
        services(ctx).check_audience_preview(&PlatformCaller::Operator(&operator), &audience)?;
        Ok(NoticeAudience::new(audience, operator))
    }

    /// One notice with its delivery. Platform operators only (scope `notices:read`).
    async fn notice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The notice's global id.")] id: ID,
    ) -> async_graphql::Result<Option<PlatformNotice>> {
        let operator = operator(ctx)?;
        let notice = services(ctx)
            .notice(&PlatformCaller::Operator(&operator), notice_id(&id)?)
            .await?;
        Ok(Some(PlatformNotice::new(notice, operator)))
    }

    /// Every notice sent, newest first. Platform operators only (scope `notices:read`).
    #[graphql(complexity = "relay::page_complexity(first, None, child_complexity)")]
    async fn notices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many notices, 1 to the maximum page size; 20 when omitted.")]
        first: Option<i32>,
        #[graphql(desc = "Start after this edge `cursor`.")] after: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, PlatformNotice, TotalCount>> {
        let scope = CursorScope {
            list: "notices",
            ordering: "CREATED_AT_DESC".into(),
            account: None,
        };
        relay::services_page(
            ctx,
            operator(ctx)?.clone(),
            (first, after),
            scope,
            move |services, operator| async move {
                services
                    .notices_count(&PlatformCaller::Operator(&operator))
                    .await
            },
            move |services, operator, offset, limit| async move {
                let notices = services
                    .notices(&PlatformCaller::Operator(&operator), offset, limit)
                    .await?;
                Ok(notices
                    .into_iter()
                    .map(|n| PlatformNotice::new(n, operator.clone()))
                    .collect())
            },
        )
        .await
    }
}
