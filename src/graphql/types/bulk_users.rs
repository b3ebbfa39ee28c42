//! Bulk user jobs as their readers see them (BULK_USERS READ). Row sources carry personal data:
//! their emails and phones need USER_PII READ.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{BulkUserJobSource, BulkUserJobStatus, BulkUserRowStatus};
use super::user::User;
use crate::domain::bulk::{RowError, SourceRow};
use crate::domain::permission::{Area, Level};
use crate::graphql::context::{caller, loaders};
use crate::graphql::errors::{deny_field, guarded};
use crate::graphql::relay::{self, CursorScope, TotalCount, encode_id};
use crate::service::bulk_users::RowOutcome;
use crate::store::entities::bulk_user_job;

pub const BULK_USER_JOB: &str = "BulkUserJob";

/// A job that creates (or activates) users from a template user.
pub struct BulkUserJob(pub bulk_user_job::Model);

/// How far a bulk user job has got.
#[derive(SimpleObject)]
pub struct BulkUserJobProgress {
    /// Rows in the job.
    pub total: i32,
    /// Rows processed so far.
    pub processed: i32,
    pub created: i32,
    pub failed: i32,
    pub skipped: i32,
}

/// A job that creates users (or activates pending users) from a template user, with a result
/// per row. Needs BULK_USERS READ.
#[Object]
impl BulkUserJob {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        encode_id(BULK_USER_JOB, &self.0.id.to_string())
    }
    async fn status(&self) -> BulkUserJobStatus {
        self.0.status.into()
    }
    /// Where the rows came from.
    async fn source(&self) -> BulkUserJobSource {
        self.0.source.into()
    }
    async fn progress(&self) -> BulkUserJobProgress {
        BulkUserJobProgress {
            total: self.0.total,
            processed: self.0.processed,
            created: self.0.created,
            failed: self.0.failed,
            skipped: self.0.skipped,
        }
    }
    /// The user whose settings the new users copy. Needs USERS READ.
    async fn template(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        if let Err(error) = caller(ctx).and_then(|c| c.require(Area::Users, Level::Read)) {
            deny_field(ctx, error);
            return Ok(None);
        }
        Ok(loaders(ctx)?
            .users()
            .load_one(self.0.template_user_id)
            .await?
            .map(User))
    }
    /// Agent IDs are generated from this number for rows without one; null when not asked.
    async fn starting_agent_id(&self) -> Option<i64> {
        self.0.starting_agent_id
    }
    /// The job whose failed rows this one retries.
    async fn retry_of(&self) -> Option<ID> {
        self.0
            .retry_of
            .map(|id| encode_id(BULK_USER_JOB, &id.to_string()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Whether a stop was asked for.
    async fn cancel_requested(&self) -> bool {
        self.0.cancel_requested_at.is_some()
    }
    /// The rows in source order, with their results.
    #[graphql(complexity = "relay::page_complexity(first, None, child_complexity)")]
    async fn rows(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only rows with this result; every row when omitted.")] status: Option<
            BulkUserRowStatus,
        >,
        #[graphql(
            desc = "How many items to return from the start, or after `after`: 1 to the maximum \
                   page size (100 by default); 20 when omitted."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this edge `cursor`, taken from this list with the same arguments."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, BulkUserRow, TotalCount>> {
        let caller = caller(ctx)?.clone();
        let status = status.map(Into::into);
        let id = self.0.id;
        let scope = CursorScope {
            list: "bulkUserJobRows",
            ordering: format!("{id}{status:?}"),
            account: Some(caller.account_id),
        };
        relay::services_page(
            ctx,
            caller,
            (first, after),
            scope,
            move |services, caller| async move {
                services.bulk_user_job_row_count(&caller, id, status).await
            },
            move |services, caller, offset, limit| async move {
                Ok(services
                    .bulk_user_job_rows(&caller, id, status, offset, limit)
                    .await?
                    .into_iter()
                    .map(BulkUserRow)
                    .collect())
            },
        )
        .await
    }
}

/// One source row and its result (also a preview's answer for the row).
pub struct BulkUserRow(pub RowOutcome);

/// One source row of a bulk job and its result.
#[Object]
impl BulkUserRow {
    /// The row's place in the source, from 1.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// The row as given.
    async fn source(&self) -> BulkUserRowSource<'_> {
        BulkUserRowSource(&self.0.source)
    }
    async fn status(&self) -> BulkUserRowStatus {
        self.0.status.into()
    }
    /// The user created or activated (for a preview: the pending user it would activate).
    /// Needs USERS READ.
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.user_id else {
            return Ok(None);
        };
        if let Err(error) = caller(ctx).and_then(|c| c.require(Area::Users, Level::Read)) {
            deny_field(ctx, error);
            return Ok(None);
        }
        Ok(loaders(ctx)?.users().load_one(id).await?.map(User))
    }
    /// The agent ID the user got, given or generated (for a preview: would get).
    async fn agent_id(&self) -> Option<i64> {
        self.0.agent_id
    }
    /// Every reason the row failed, or why it was skipped.
    async fn errors(&self) -> Vec<BulkUserRowError> {
        self.0
            .errors
            .iter()
            .cloned()
            .map(BulkUserRowError::from)
            .collect()
    }
}

/// Why a row failed or was skipped.
#[derive(SimpleObject)]
pub struct BulkUserRowError {
    /// NO_PHONE, INVALID_PHONE, MISSING_AGENT_ID, USERNAME_EXISTS, AGENT_ID_IN_USE,
    /// AGENT_ID_DUPLICATE_IN_BATCH, INVALID_EMAIL, ALREADY_LINKED, LICENCE_LIMIT, REQUIRED,
    /// NAME_REQUIRED, INVALID_USERNAME, INVALID_NAME, INVALID_AGENT_ID.
    pub code: String,
    pub message: String,
}

impl From<RowError> for BulkUserRowError {
    fn from(error: RowError) -> Self {
        Self {
            code: error.code,
            message: error.message,
        }
    }
}

/// A bulk row as given.
pub struct BulkUserRowSource<'a>(&'a SourceRow);

/// A bulk row as given. Email and phone need USER_PII READ.
#[Object]
impl BulkUserRowSource<'_> {
    async fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn display_name(&self) -> Option<&str> {
        self.0.display_name.as_deref()
    }
    /// Needs USER_PII READ.
    async fn email(&self, ctx: &Context<'_>) -> Option<String> {
        let check = caller(ctx).and_then(|c| c.require(Area::UserPii, Level::Read));
        guarded(ctx, check, || self.0.email.clone())
    }
    /// Needs USER_PII READ.
    async fn phone(&self, ctx: &Context<'_>) -> Option<String> {
        let check = caller(ctx).and_then(|c| c.require(Area::UserPii, Level::Read));
        guarded(ctx, check, || self.0.phone.clone())
    }
    /// The agent ID the row gives.
    async fn agent_id(&self) -> Option<i64> {
        self.0.agent_id
    }
    /// The external record the new user is linked to: its platform.
    async fn external_source(&self) -> Option<&str> {
        self.0.external_source.as_deref()
    }
    /// The external record's id on that platform.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// The pending user the row activates.
    async fn pending_user_id(&self) -> Option<ID> {
        self.0
            .pending_user_id
            .map(|id| encode_id(super::user::USER, &id.to_string()))
    }
}
