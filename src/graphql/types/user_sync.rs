//! User sync sources, runs and their items as their readers see them (USER_SYNC READ). An
//! item's email change is personal data: it needs USER_PII READ.

use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::enums::{
    SyncItemAction, SyncItemStatus, SyncPrimaryIdentifier, SyncRunStatus, SyncRunTrigger,
    SyncSourceStatus,
};
use super::user::User;
use crate::domain::permission::{Area, Level};
use crate::domain::sync::FieldChange;
use crate::graphql::context::{caller, loaders};
use crate::graphql::errors::deny_field;
use crate::graphql::relay::{self, CursorScope, TotalCount, encode_id};
use crate::store::entities::{sync_run, sync_run_item, sync_source};

pub const SYNC_SOURCE: &str = "SyncSource";
pub const SYNC_RUN: &str = "SyncRun";

/// An account's upstream of users: Intercom's teammates, or the users of any SCIM 2.0 service.
pub struct SyncSource(pub sync_source::Model);

#[Object]
impl SyncSource {
    /// Opaque global id.
    async fn id(&self) -> ID {
        encode_id(SYNC_SOURCE, &self.0.id.to_string())
    }
    /// The catalog integration whose connection the sync reads (`intercom`, `scim`).
    async fn integration_key(&self) -> &str {
        &self.0.integration_key
    }
    /// Null: username (where the upstream has usernames), then email.
    async fn primary_identifier(&self) -> Option<SyncPrimaryIdentifier> {
        self.0.primary_identifier.map(Into::into)
    }
    /// Seconds between runs, counted from the end of the last run (with a little jitter).
    async fn every_seconds(&self) -> i64 {
        self.0.every_seconds
    }
    /// Users gone upstream for this many consecutive complete runs are deactivated (never an
    /// Account Admin); null: never.
    async fn deactivate_after_missed_runs(&self) -> Option<i32> {
        self.0.deactivate_after_missed_runs
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    async fn status(&self) -> SyncSourceStatus {
        self.0.status.into()
    }
    /// Failed runs in a row; the schedule slows down while it grows.
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }
    /// Why the last run failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn last_run_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_run_at
    }
    /// The run under way or awaiting approval.
    async fn active_run_id(&self) -> Option<ID> {
        self.0
            .active_run_id
            .map(|id| encode_id(SYNC_RUN, &id.to_string()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A run's counts.
#[derive(SimpleObject)]
pub struct SyncRunCounts {
    /// Distinct users the upstream listed.
    pub fetched: i32,
    pub created: i32,
    /// Linked (matched) or updated users.
    pub updated: i32,
    pub unchanged: i32,
    /// Linked users the upstream no longer lists.
    pub missing_upstream: i32,
    pub deactivated: i32,
    pub conflicts: i32,
    pub failed: i32,
}

/// One execution of a user sync, or its preview.
pub struct SyncRun(pub sync_run::Model);

#[Object]
impl SyncRun {
    /// Opaque global id.
    async fn id(&self) -> ID {
        encode_id(SYNC_RUN, &self.0.id.to_string())
    }
    async fn source_id(&self) -> ID {
        encode_id(SYNC_SOURCE, &self.0.source_id.to_string())
    }
    async fn trigger(&self) -> SyncRunTrigger {
        self.0.trigger.into()
    }
    /// A preview: the same fetch and checks, nothing changed.
    async fn dry_run(&self) -> bool {
        self.0.dry_run
    }
    async fn status(&self) -> SyncRunStatus {
        self.0.status.into()
    }
    async fn counts(&self) -> SyncRunCounts {
        SyncRunCounts {
            fetched: self.0.fetched,
            created: self.0.created,
            updated: self.0.updated,
            unchanged: self.0.unchanged,
            missing_upstream: self.0.missing,
            deactivated: self.0.deactivated,
            conflicts: self.0.conflicts,
            failed: self.0.failed,
        }
    }
    /// Why the run failed (it names no secret).
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
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
    /// When an admin approved or rejected the run.
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// What the run did (or would do) per user, in listing order; users with no change have
    /// no item (see `counts.unchanged`).
    #[graphql(complexity = "relay::page_complexity(first, None, child_complexity)")]
    async fn items(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only items of this action; every item when omitted.")] action: Option<
            SyncItemAction,
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
    ) -> async_graphql::Result<Connection<relay::Cursor, SyncRunItem, TotalCount>> {
        let caller = caller(ctx)?.clone();
        let action = action.map(Into::into);
        let id = self.0.id;
        let scope = CursorScope {
            list: "syncRunItems",
            ordering: format!("{id}{action:?}"),
            account: Some(caller.account_id),
        };
        relay::services_page(
            ctx,
            caller,
            (first, after),
            scope,
            move |services, caller| async move {
                services.user_sync_item_count(&caller, id, action).await
            },
            move |services, caller, offset, limit| async move {
                Ok(services
                    .user_sync_items(&caller, id, action, offset, limit)
                    .await?
                    .into_iter()
                    .map(SyncRunItem)
                    .collect())
            },
        )
        .await
    }
}

/// What a run did (or would do) for one upstream record or linked user.
pub struct SyncRunItem(pub sync_run_item::Model);

#[Object]
impl SyncRunItem {
    /// The record's place in the upstream listing; users gone upstream come last.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// The upstream's id of the record.
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    async fn action(&self) -> SyncItemAction {
        self.0.action.into()
    }
    async fn status(&self) -> SyncItemStatus {
        self.0.status.into()
    }
    /// The user concerned (for a conflict: the first candidate). Needs USERS READ.
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
    /// The fields changed, before and after. An email change needs USER_PII READ; without it
    /// the list holds the name changes only and the field reports FORBIDDEN.
    async fn changes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SyncFieldChange>> {
        let changes: Vec<FieldChange> = self
            .0
            .changes
            .clone()
            .and_then(|value| serde_json::from_value(value).ok())
            .unwrap_or_default();
        let pii = caller(ctx).and_then(|c| c.require(Area::UserPii, Level::Read));
        let mut visible = Vec::with_capacity(changes.len());
        let mut hidden = false;
        for change in changes {
            if change.field.is_pii() && pii.is_err() {
                hidden = true;
                continue;
            }
            visible.push(SyncFieldChange {
                field: serde_json::to_value(change.field)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                before: change.before,
                after: change.after,
            });
        }
        if hidden && let Err(error) = pii {
            deny_field(ctx, error);
        }
        Ok(visible)
    }
    /// Why the change failed, or what the conflict is.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

/// One field's value before and after a sync.
#[derive(SimpleObject)]
pub struct SyncFieldChange {
    /// `displayName`, `firstName`, `lastName` or `email`.
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}
