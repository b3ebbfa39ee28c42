//! User sync: an account's users follow an upstream directory (Intercom, any SCIM 2.0 service).
//!
//! A run first stages the whole listing (so an incomplete or empty fetch changes nothing), then
//! checks the deletion safeguard, then applies the records a chunk at a time — one transaction
//! per chunk, each user's change under a savepoint of its own, so one failing user never costs
//! another — and last flags the linked users the listing no longer has. A preview goes through
//! the very same steps and [`plan`] but only records what it would do.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, DatabaseTransaction, IntoActiveModel};
use serde_json::{Value, json};

use super::audit::{Actor, Event};
use super::{Patch, Services};
use crate::auth::principal::AccountUser;
use crate::connectors::upstream::{DirectorySettings, FetchError, UpstreamPages, UpstreamUser};
use crate::domain::ids::{AccountId, ExternalIdentityId, SyncRunId, SyncSourceId, UserId};
use crate::domain::permission::{Area, Level};
use crate::domain::sync::{
    DEFAULT_EVERY_SECONDS, ItemAction, ItemStatus, LocalUser, MIN_EVERY_SECONDS, Plan,
    PrimaryIdentifier, RecordFacts, RunStatus, RunTrigger, SourceStatus, SyncedField,
    invalid_value, needs_approval, new_username, plan,
};
use crate::domain::user::{UserKind, UserStatus};
use crate::error::{AppError, AppResult, UserError};
use crate::jobs::schedule::next_after_completion;
use crate::jobs::{JobContext, JobFailure, JobHandler};
use crate::store::entities::connection::ConnectionStatus;
use crate::store::entities::schedule::ScheduleAnchor;
use crate::store::entities::{
    external_identity, sync_run as run, sync_run_item as item, sync_source as source,
    sync_upstream_user as staged, user,
};
use crate::store::schedules::{Every, NewSchedule};
use crate::store::{self, Conn, begin_write};

/// The background job kind: a source's scheduled run (payload `sourceId`) or a queued run
/// (payload `runId`).
pub const RUN_USER_SYNC: &str = "user_sync.run";
/// Staged records planned and applied per transaction.
const CHUNK_RECORDS: u64 = 500;
/// Linked users gone upstream read per statement.
const MISSING_BATCH: u64 = 500;
/// A failing source's schedule slows down to at most this many times its interval.
const MAX_SLOWDOWN: i64 = 8;

/// What `enableUserSync` asks for.
#[derive(Clone, Debug)]
pub struct EnableUserSync {
    pub integration_key: String,
    pub primary_identifier: Option<PrimaryIdentifier>,
    pub every_seconds: Option<i64>,
    pub deactivate_after_missed_runs: Option<i32>,
}

/// What `updateUserSync` changes.
#[derive(Clone, Debug, Default)]
pub struct UserSyncPatch {
    pub primary_identifier: Patch<PrimaryIdentifier>,
    pub every_seconds: Option<i64>,
    pub deactivate_after_missed_runs: Patch<i32>,
}

fn schedule_name(source: SyncSourceId) -> String {
    format!("user_sync:{source}")
}

/// Up to 5 % of the interval, at most ten minutes: many accounts' syncs do not fire at once.
fn jitter_seconds(every: i64) -> i32 {
    i32::try_from((every / 20).min(600)).unwrap_or(600)
}

fn reject(field: &str, code: &str, message: impl Into<String>) -> AppError {
    AppError::rejected(UserError::new(&["input", field], code, message))
}

fn check_timing(every: Option<i64>, deactivate_after: Option<i32>) -> AppResult<()> {
    if every.is_some_and(|every| every < MIN_EVERY_SECONDS) {
        return Err(reject(
            "everySeconds",
            "INVALID_SCHEDULE",
            format!("runs may be at most every {MIN_EVERY_SECONDS} seconds"),
        ));
    }
    if deactivate_after.is_some_and(|runs| runs < 1) {
        return Err(reject(
            "deactivateAfterMissedRuns",
            "INVALID_POLICY",
            "deactivation needs at least one complete run without the user",
        ));
    }
    Ok(())
}

/// Why a run stopped without applying anything.
enum RunFailure {
    Fetch(FetchError),
    /// The listing was complete but empty: taken as a fault, never as "everyone left".
    Empty,
    NotConnected,
    /// The run's job used its attempts.
    Abandoned(String),
}

impl RunFailure {
    fn message(&self) -> String {
        match self {
            RunFailure::Fetch(error) => error.to_string(),
            RunFailure::Empty => {
                "the upstream listed no users; nothing was changed (an empty directory is taken \
                 as a fault)"
                    .into()
            }
            RunFailure::NotConnected => "the integration is no longer connected".into(),
            RunFailure::Abandoned(reason) => format!("the run could not finish: {reason}"),
        }
    }
}

fn local_user(user: &user::Model) -> LocalUser {
    LocalUser {
        id: user.id,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        email: user.email.clone(),
    }
}

/// Users by a folded key of theirs (username or email), as matching looks them up.
fn index_by(
    users: &[user::Model],
    key: impl Fn(&user::Model) -> &Option<String>,
) -> HashMap<String, Vec<LocalUser>> {
    let mut index: HashMap<String, Vec<LocalUser>> = HashMap::new();
    for user in users {
        if let Some(folded) = key(user) {
            index
                .entry(folded.clone())
                .or_default()
                .push(local_user(user));
        }
    }
    index
}

fn upstream_of(record: &staged::Model) -> UpstreamUser {
    UpstreamUser {
        external_id: record.external_id.clone(),
        username: record.username.clone(),
        email: record.email.clone(),
        display_name: record.display_name.clone(),
        first_name: record.first_name.clone(),
        last_name: record.last_name.clone(),
    }
}

/// Keeps a staged value within its column; longer values fail the record's checks anyway.
fn bounded(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.chars().take(1000).collect())
}

/// Writes the fields the upstream owns; roles, licence and status stay as they are.
async fn update_synced(
    conn: &impl Conn,
    account: AccountId,
    id: UserId,
    changes: &[crate::domain::sync::FieldChange],
    now: DateTime<Utc>,
) -> Result<UserId, sea_orm::DbErr> {
    if changes.is_empty() {
        return Ok(id);
    }
    let Some(found) = store::users::find(conn, account, id).await? else {
        return Err(sea_orm::DbErr::RecordNotFound(format!("user {id}")));
    };
    let mut model = found.into_active_model();
    for change in changes {
        let value = change.after.clone();
        match change.field {
            SyncedField::DisplayName => model.display_name = Set(value),
            SyncedField::FirstName => model.first_name = Set(value),
            SyncedField::LastName => model.last_name = Set(value),
            SyncedField::Email => {
                model.email_key = Set(value.as_ref().map(|e| e.to_lowercase()));
                model.email = Set(value);
                // A new address has not bounced yet.
                model.email_invalid_at = Set(None);
            }
        }
    }
    model.updated_at = Set(now);
    store::users::update(conn, model).await?;
    Ok(id)
}

/// Writes one record's plan: the new user and its link, the link and the upstream's fields, or
/// the upstream's fields (and the end of a gone-upstream flag).
async fn write_plan(
    conn: &impl Conn,
    account: AccountId,
    key: &str,
    record: &UpstreamUser,
    planned: &Plan,
    now: DateTime<Utc>,
) -> Result<UserId, sea_orm::DbErr> {
    match planned {
        Plan::Create { username } => {
            let model = pending_user(UserId::new(), account, record, username, now);
            let id = store::users::insert(conn, model).await?.id;
            store::sync::insert_link(conn, account, id, key, &record.external_id, now).await?;
            Ok(id)
        }
        Plan::Link { user, changes } => {
            store::sync::insert_link(conn, account, *user, key, &record.external_id, now).await?;
            update_synced(conn, account, *user, changes, now).await
        }
        Plan::Update {
            user,
            changes,
            returned,
        } => {
            update_synced(conn, account, *user, changes, now).await?;
            if *returned {
                store::sync::clear_missing(conn, account, key, &record.external_id).await?;
            }
            Ok(*user)
        }
        Plan::Unchanged { user } => Ok(*user),
        Plan::Conflict { .. } => Err(sea_orm::DbErr::Custom(
            "a conflict has nothing to write".into(),
        )),
    }
}

/// The next batch of the source's links whose record the run did not fetch, after `after`
/// (moved on past it), each with its user; `None` when there are no more.
async fn missing_batch(
    conn: &impl Conn,
    run: &run::Model,
    source: &source::Model,
    after: &mut Option<ExternalIdentityId>,
) -> AppResult<Option<Vec<(external_identity::Model, user::Model)>>> {
    let account = run.account_id;
    let links = store::sync::missing_links(
        conn,
        account,
        &source.integration_key,
        run.id,
        *after,
        MISSING_BATCH,
    )
    .await?;
    let Some(last) = links.last() else {
        return Ok(None);
    };
    *after = Some(last.id);
    let ids: Vec<UserId> = links.iter().map(|l| l.user_id).collect();
    let mut users = store::users::by_ids(conn, account, &ids).await?;
    Ok(Some(
        links
            .into_iter()
            .filter_map(|link| users.remove(&link.user_id).map(|user| (link, user)))
            .collect(),
    ))
}

/// Reads a listing's pages into `ahead` until it ends, fails, or nobody reads any more.
async fn read_ahead(
    mut pages: Box<dyn UpstreamPages>,
    ahead: tokio::sync::mpsc::Sender<Result<Vec<UpstreamUser>, FetchError>>,
) {
    loop {
        let (page, last) = match pages.next_page().await {
            Ok(Some(page)) => (Ok(page), false),
            Ok(None) => return,
            Err(error) => (Err(error), true),
        };
        if ahead.send(page).await.is_err() || last {
            return;
        }
    }
}

/// A new PENDING login user (no seat, no roles) from an upstream record.
fn pending_user(
    id: UserId,
    account: AccountId,
    record: &UpstreamUser,
    username: &str,
    now: DateTime<Utc>,
) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(id),
        account_id: Set(account),
        kind: Set(UserKind::Login),
        status: Set(UserStatus::Pending),
        username: Set(Some(username.to_owned())),
        username_key: Set(Some(username.to_lowercase())),
        display_name: Set(record.display_name.clone()),
        first_name: Set(record.first_name.clone()),
        last_name: Set(record.last_name.clone()),
        email_key: Set(record.email.as_ref().map(|e| e.to_lowercase())),
        email: Set(record.email.clone()),
        phone: Set(None),
        preferred_language: Set(None),
        user_type: Set(None),
        country: Set(None),
        telephony_region: Set(None),
        licence_type: Set(None),
        agent_id: Set(None),
        email_invalid_at: Set(None),
        title: Set(None),
        is_distribution_list: Set(false),
        may_contact_for_interviews: Set(true),
        may_contact_for_product_updates: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

impl Services {
    /// Turns user sync on for a connected directory integration; the first run starts at once.
    pub async fn enable_user_sync(
        &self,
        caller: &AccountUser,
        input: EnableUserSync,
    ) -> AppResult<source::Model> {
        caller.require(Area::UserSync, Level::Full)?;
        let account = caller.account_id;
        if self.directories.get(&input.integration_key).is_none() {
            return Err(reject(
                "integrationKey",
                "NOT_A_DIRECTORY",
                format!(
                    "users can be synced from: {}",
                    self.directories.keys().join(", ")
                ),
            ));
        }
        check_timing(input.every_seconds, input.deactivate_after_missed_runs)?;
        let txn = begin_write(&self.db).await?;
        let connected = store::connections::find(&txn, account, &input.integration_key)
            .await?
            .is_some_and(|c| c.status == ConnectionStatus::Connected);
        if !connected {
            return Err(reject(
                "integrationKey",
                "NOT_CONNECTED",
                "connect the integration first: the sync reads through its connection",
            ));
        }
        let now = self.clock.now();
        let every = input.every_seconds.unwrap_or(DEFAULT_EVERY_SECONDS);
        let existing =
            store::sync::source_by_integration(&txn, account, &input.integration_key).await?;
        let source = match existing {
            Some(mut source) => {
                source.enabled = true;
                source.primary_identifier = input.primary_identifier;
                source.every_seconds = every;
                source.deactivate_after_missed_runs = input.deactivate_after_missed_runs;
                source.updated_at = now;
                store::sync::update_source(&txn, source).await?
            }
            None => {
                store::sync::insert_source(
                    &txn,
                    source::Model {
                        id: SyncSourceId::new(),
                        account_id: account,
                        integration_key: input.integration_key.clone(),
                        primary_identifier: input.primary_identifier,
                        every_seconds: every,
                        deactivate_after_missed_runs: input.deactivate_after_missed_runs,
                        enabled: true,
                        status: SourceStatus::Ok,
                        consecutive_failures: 0,
                        active_run_id: None,
                        last_run_at: None,
                        last_error: None,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .await?
            }
        };
        let name = schedule_name(source.id);
        store::schedules::ensure(
            &txn,
            NewSchedule {
                name: name.clone(),
                account_id: Some(account),
                job_kind: RUN_USER_SYNC.into(),
                payload: json!({ "accountId": account.to_string(), "sourceId": source.id.to_string() }),
                every: Every::Seconds(every),
                anchor: ScheduleAnchor::AfterCompletion,
                jitter_seconds: jitter_seconds(every),
                first_run_at: now,
            },
            now,
        )
        .await?;
        // Enabling again starts a run at once, as the first enabling does.
        store::schedules::retime(&txn, &name, every, jitter_seconds(every), Some(now), now).await?;
        store::schedules::set_enabled(&txn, &name, true, now).await?;
        let event = Event {
            action: "user_sync.enabled",
            target_type: "SyncSource",
            target_id: Some(source.id.to_string()),
            details: json!({ "integrationKey": source.integration_key, "everySeconds": every }),
            pii: None,
        };
        self.commit_with(txn, caller, event).await?;
        Ok(source)
    }

    /// Changes a source's matching, schedule or deactivation policy.
    pub async fn update_user_sync(
        &self,
        caller: &AccountUser,
        id: SyncSourceId,
        patch: UserSyncPatch,
    ) -> AppResult<source::Model> {
        caller.require(Area::UserSync, Level::Full)?;
        let deactivate = match &patch.deactivate_after_missed_runs {
            Patch::Set(runs) => Some(*runs),
            _ => None,
        };
        check_timing(patch.every_seconds, deactivate)?;
        let txn = begin_write(&self.db).await?;
        let mut source = store::sync::find_source(&txn, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        match patch.primary_identifier {
            Patch::Keep => {}
            Patch::Clear => source.primary_identifier = None,
            Patch::Set(identifier) => source.primary_identifier = Some(identifier),
        }
        match patch.deactivate_after_missed_runs {
            Patch::Keep => {}
            Patch::Clear => source.deactivate_after_missed_runs = None,
            Patch::Set(runs) => source.deactivate_after_missed_runs = Some(runs),
        }
        if let Some(every) = patch.every_seconds {
            source.every_seconds = every;
            store::schedules::retime(
                &txn,
                &schedule_name(id),
                every,
                jitter_seconds(every),
                None,
                now,
            )
            .await?;
        }
        source.updated_at = now;
        let source = store::sync::update_source(&txn, source).await?;
        let event = Event {
            action: "user_sync.updated",
            target_type: "SyncSource",
            target_id: Some(id.to_string()),
            details: json!({
                "primaryIdentifier": source.primary_identifier.map(|p| format!("{p:?}")),
                "everySeconds": source.every_seconds,
                "deactivateAfterMissedRuns": source.deactivate_after_missed_runs,
            }),
            pii: None,
        };
        self.commit_with(txn, caller, event).await?;
        Ok(source)
    }

    /// Stops scheduled runs; users, links and history stay.
    pub async fn disable_user_sync(
        &self,
        caller: &AccountUser,
        id: SyncSourceId,
    ) -> AppResult<source::Model> {
        caller.require(Area::UserSync, Level::Full)?;
        let txn = begin_write(&self.db).await?;
        let mut source = store::sync::find_source(&txn, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        source.enabled = false;
        source.updated_at = now;
        let source = store::sync::update_source(&txn, source).await?;
        store::schedules::set_enabled(&txn, &schedule_name(id), false, now).await?;
        let event = Event {
            action: "user_sync.disabled",
            target_type: "SyncSource",
            target_id: Some(id.to_string()),
            details: json!({ "integrationKey": source.integration_key }),
            pii: None,
        };
        self.commit_with(txn, caller, event).await?;
        Ok(source)
    }

    /// Queues a run (or, with `dry_run`, a preview) now. While another run holds the source,
    /// that run is returned instead: one run per source at a time.
    pub async fn queue_user_sync_run(
        &self,
        caller: &AccountUser,
        id: SyncSourceId,
        dry_run: bool,
    ) -> AppResult<run::Model> {
        caller.require(Area::UserSync, Level::Full)?;
        let account = caller.account_id;
        let txn = begin_write(&self.db).await?;
        let source = store::sync::find_source(&txn, account, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !source.enabled && !dry_run {
            return Err(reject(
                "sourceId",
                "SYNC_DISABLED",
                "user sync is disabled for this source; enable it first",
            ));
        }
        let now = self.clock.now();
        let Some(run) = self
            .start_run(
                &txn,
                &source,
                RunTrigger::Manual,
                dry_run,
                Some(caller.user_id),
                now,
            )
            .await?
        else {
            let active = match source.active_run_id {
                Some(active) => store::sync::find_run(&txn, account, active).await?,
                None => None,
            };
            return active.ok_or_else(|| AppError::Internal("a run holds the source".into()));
        };
        self.enqueue_run(&txn, account, run.id, "queued").await?;
        let event = Event {
            action: if dry_run {
                "user_sync.previewed"
            } else {
                "user_sync.run_requested"
            },
            target_type: "SyncRun",
            target_id: Some(run.id.to_string()),
            details: json!({ "sourceId": id.to_string() }),
            pii: None,
        };
        self.commit_with(txn, caller, event).await?;
        Ok(run)
    }

    /// Lets a run held by the deletion safeguard go on, or rejects it (nothing is changed).
    pub async fn decide_user_sync_run(
        &self,
        caller: &AccountUser,
        id: SyncRunId,
        approve: bool,
    ) -> AppResult<run::Model> {
        caller.require(Area::UserSync, Level::Full)?;
        let account = caller.account_id;
        let txn = begin_write(&self.db).await?;
        let mut run = store::sync::find_run(&txn, account, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if run.status != RunStatus::AwaitingApproval {
            return Err(reject(
                "runId",
                "NOT_AWAITING_APPROVAL",
                "only a run awaiting approval can be approved or rejected",
            ));
        }
        let now = self.clock.now();
        run.decided_by = Some(caller.user_id);
        run.decided_at = Some(now);
        run.updated_at = now;
        if approve {
            run.status = RunStatus::Queued;
            self.enqueue_run(&txn, account, id, "approved").await?;
            run = store::sync::update_run(&txn, run).await?;
        } else {
            run.status = RunStatus::Rejected;
            if let Some(mut source) = self.end_run(&txn, &mut run, now).await? {
                source.updated_at = now;
                store::sync::update_source(&txn, source).await?;
            }
        }
        let event = Event {
            action: if approve {
                "user_sync.run_approved"
            } else {
                "user_sync.run_rejected"
            },
            target_type: "SyncRun",
            target_id: Some(id.to_string()),
            details: json!({ "sourceId": run.source_id.to_string(), "missing": run.missing }),
            pii: None,
        };
        self.commit_with(txn, caller, event).await?;
        Ok(run)
    }

    pub async fn user_sync_sources(&self, caller: &AccountUser) -> AppResult<Vec<source::Model>> {
        caller.require(Area::UserSync, Level::Read)?;
        Ok(store::sync::list_sources(&self.db, caller.account_id).await?)
    }

    pub async fn user_sync_run(
        &self,
        caller: &AccountUser,
        id: SyncRunId,
    ) -> AppResult<run::Model> {
        caller.require(Area::UserSync, Level::Read)?;
        store::sync::find_run(&self.db, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    pub async fn user_sync_runs(
        &self,
        caller: &AccountUser,
        source: SyncSourceId,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<run::Model>> {
        caller.require(Area::UserSync, Level::Read)?;
        Ok(store::sync::page_runs(&self.db, caller.account_id, source, offset, limit).await?)
    }

    pub async fn user_sync_run_count(
        &self,
        caller: &AccountUser,
        source: SyncSourceId,
    ) -> AppResult<u64> {
        caller.require(Area::UserSync, Level::Read)?;
        Ok(store::sync::count_runs(&self.db, caller.account_id, source).await?)
    }

    pub async fn user_sync_items(
        &self,
        caller: &AccountUser,
        run: SyncRunId,
        action: Option<ItemAction>,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<item::Model>> {
        caller.require(Area::UserSync, Level::Read)?;
        Ok(
            store::sync::page_items(&self.db, caller.account_id, run, action, offset, limit)
                .await?,
        )
    }

    pub async fn user_sync_item_count(
        &self,
        caller: &AccountUser,
        run: SyncRunId,
        action: Option<ItemAction>,
    ) -> AppResult<u64> {
        caller.require(Area::UserSync, Level::Read)?;
        Ok(store::sync::count_items(&self.db, caller.account_id, run, action).await?)
    }

    /// Records a run that holds the source; `None` when another run holds it.
    async fn start_run(
        &self,
        txn: &DatabaseTransaction,
        source: &source::Model,
        trigger: RunTrigger,
        dry_run: bool,
        requested_by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> AppResult<Option<run::Model>> {
        let id = SyncRunId::new();
        if !store::sync::claim_source(txn, source.id, id, now).await? {
            return Ok(None);
        }
        let run = store::sync::insert_run(
            txn,
            run::Model {
                id,
                account_id: source.account_id,
                source_id: source.id,
                trigger,
                dry_run,
                status: RunStatus::Queued,
                fetched: 0,
                created: 0,
                updated: 0,
                unchanged: 0,
                missing: 0,
                deactivated: 0,
                conflicts: 0,
                failed: 0,
                applied_through: 0,
                missing_applied: false,
                error: None,
                requested_by,
                decided_by: None,
                decided_at: None,
                started_at: None,
                finished_at: None,
                created_at: now,
                updated_at: now,
            },
        )
        .await?;
        Ok(Some(run))
    }

    /// A source's schedule fired: queues a run, which its own job carries out (and resumes after
    /// a crash); the run plans the schedule's next tick when it ends. Skipped while another run
    /// holds the source.
    async fn start_scheduled_sync(
        &self,
        account: AccountId,
        id: SyncSourceId,
    ) -> Result<(), JobFailure> {
        let txn = begin_write(&self.db).await?;
        let Some(source) = store::sync::find_source(&txn, account, id).await? else {
            return Ok(());
        };
        if !source.enabled {
            return Ok(());
        }
        let trigger = if source.last_run_at.is_none() {
            RunTrigger::Enable
        } else {
            RunTrigger::Schedule
        };
        let now = self.clock.now();
        let Some(run) = self
            .start_run(&txn, &source, trigger, false, None, now)
            .await?
        else {
            tracing::info!(source = %id, "user sync: another run holds the source; tick skipped");
            return Ok(());
        };
        self.enqueue_run(&txn, account, run.id, "queued").await?;
        txn.commit().await?;
        Ok(())
    }

    /// Gives up a run whose job has used its attempts (the database kept failing): FAILED, and
    /// the source free for the next one.
    async fn abandon_sync_run(
        &self,
        account: AccountId,
        id: SyncRunId,
        reason: &str,
    ) -> AppResult<()> {
        let Some(run) = store::sync::find_run(&self.db, account, id).await? else {
            return Ok(());
        };
        if !run.status.is_under_way() {
            return Ok(());
        }
        self.fail_run(run, RunFailure::Abandoned(reason.to_owned()))
            .await
            .map_err(|failure| AppError::Internal(failure.to_string()))
    }

    /// Carries a run on from where it stands (a resumed run skips what is done).
    pub async fn execute_sync_run(
        &self,
        account: AccountId,
        id: SyncRunId,
    ) -> Result<(), JobFailure> {
        let Some(mut run) = store::sync::find_run(&self.db, account, id).await? else {
            return Err(JobFailure::Permanent(format!(
                "sync run {id} does not exist"
            )));
        };
        if !run.status.is_under_way() {
            return Ok(());
        }
        let Some(source) = store::sync::find_source(&self.db, account, run.source_id).await? else {
            return Err(JobFailure::Permanent(format!(
                "sync run {id} has no source"
            )));
        };
        let now = self.clock.now();
        run.status = RunStatus::Running;
        run.started_at = run.started_at.or(Some(now));
        run.updated_at = now;
        run = store::sync::update_run(&self.db, run).await?;
        if run.fetched == 0 {
            let started = std::time::Instant::now();
            match self.fetch(&run, &source).await? {
                Ok(fetched) => {
                    let seconds = started.elapsed().as_secs_f64();
                    tracing::info!(run = %id, fetched, seconds, "user sync fetched the listing");
                    run.fetched = fetched;
                    run.updated_at = self.clock.now();
                    run = store::sync::update_run(&self.db, run).await?;
                }
                Err(failure) => return self.fail_run(run, failure).await,
            }
        }
        // The listing has just grown the staged table (and a first import grows the others):
        // plans made with the statistics of small tables would read them in full for each record.
        store::refresh_stale_statistics(&self.db, store::sync::GROWING_TABLES).await?;
        if !run.dry_run && run.decided_by.is_none() && run.applied_through == 0 {
            let (affected, linked) = self.missing_impact(&run, &source).await?;
            if needs_approval(affected, linked) {
                tracing::warn!(run = %id, affected, linked, "user sync held for approval");
                run.status = RunStatus::AwaitingApproval;
                run.updated_at = self.clock.now();
                store::sync::update_run(&self.db, run).await?;
                return Ok(());
            }
        }
        while self.apply_chunk(&mut run, &source).await? {
            store::refresh_stale_statistics(&self.db, store::sync::GROWING_TABLES).await?;
        }
        if !run.missing_applied {
            self.apply_missing(&mut run, &source).await?;
        }
        self.finish_run(run).await
    }

    /// Stages the whole listing; the number of distinct records, or why it is incomplete.
    async fn fetch(
        &self,
        run: &run::Model,
        source: &source::Model,
    ) -> AppResult<Result<i32, RunFailure>> {
        store::sync::clear_staged(&self.db, run.id).await?;
        let account = run.account_id;
        let connection = store::connections::find(&self.db, account, &source.integration_key)
            .await?
            .filter(|c| c.status == ConnectionStatus::Connected);
        let (Some(connection), Some(directory)) =
            (connection, self.directories.get(&source.integration_key))
        else {
            return Ok(Err(RunFailure::NotConnected));
        };
        let secrets = self.connection_secrets(&connection)?;
        let empty = serde_json::Map::new();
        let plain = connection.settings.as_object().unwrap_or(&empty);
        let pages = match directory.list_users(&DirectorySettings {
            plain,
            secrets: &secrets,
        }) {
            Ok(pages) => pages,
            Err(error) => return Ok(Err(RunFailure::Fetch(error))),
        };
        // The next page is read while this one is staged: one page ahead, so memory holds two.
        let (ahead, mut received) = tokio::sync::mpsc::channel(1);
        let reader = tokio::spawn(read_ahead(pages, ahead));
        let mut position = 0;
        loop {
            let page = match received.recv().await {
                Some(Ok(page)) => page,
                None => break,
                Some(Err(error)) => return Ok(Err(RunFailure::Fetch(error))),
            };
            let mut models = Vec::with_capacity(page.len());
            for record in &page {
                if record.external_id.chars().count() > 255 {
                    return Ok(Err(RunFailure::Fetch(FetchError::Invalid(
                        "the upstream gave an id longer than 255 characters".into(),
                    ))));
                }
                position += 1;
                models.push(staged::ActiveModel {
                    account_id: Set(account),
                    run_id: Set(run.id),
                    position: Set(position),
                    external_id: Set(record.external_id.clone()),
                    username: Set(bounded(&record.username)),
                    email: Set(bounded(&record.email)),
                    display_name: Set(bounded(&record.display_name)),
                    first_name: Set(bounded(&record.first_name)),
                    last_name: Set(bounded(&record.last_name)),
                    username_key: Set(bounded(&new_username(record).map(|u| u.to_lowercase()))),
                });
            }
            // A record listed twice (the upstream changed while we paged) is staged once.
            store::sync::stage(&self.db, &models).await?;
        }
        reader
            .await
            .map_err(|error| AppError::Internal(format!("the page reader stopped: {error}")))?;
        let fetched = store::sync::count_staged(&self.db, run.id).await?;
        if fetched == 0 {
            return Ok(Err(RunFailure::Empty));
        }
        Ok(Ok(i32::try_from(fetched).unwrap_or(i32::MAX)))
    }

    /// How many linked users the run would newly flag or deactivate, and how many are linked.
    async fn missing_impact(
        &self,
        run: &run::Model,
        source: &source::Model,
    ) -> AppResult<(u64, u64)> {
        let linked =
            store::sync::count_links(&self.db, run.account_id, &source.integration_key).await?;
        let mut affected = 0;
        let mut after = None;
        while let Some(batch) = missing_batch(&self.db, run, source, &mut after).await? {
            for (link, user) in &batch {
                if self
                    .missing_action(&self.db, source, link, user)
                    .await?
                    .is_some()
                {
                    affected += 1;
                }
            }
        }
        Ok((affected, linked))
    }

    /// What a run does to a linked user it did not fetch: flag it the first time, deactivate it
    /// once the policy's count of runs is reached (never an Account Admin), else nothing new.
    async fn missing_action(
        &self,
        conn: &impl Conn,
        source: &source::Model,
        link: &external_identity::Model,
        user: &user::Model,
    ) -> AppResult<Option<ItemAction>> {
        let due = source
            .deactivate_after_missed_runs
            .is_some_and(|runs| link.missed_runs + 1 >= runs);
        if due
            && user.status == UserStatus::Active
            && !store::roles::is_active_admin(conn, user.account_id, user.id).await?
        {
            return Ok(Some(ItemAction::Deactivate));
        }
        Ok(link
            .missing_since
            .is_none()
            .then_some(ItemAction::FlagMissing))
    }

    /// Plans (and, unless a preview, applies) the next chunk of staged records in one
    /// transaction; false when none is left.
    async fn apply_chunk(
        &self,
        run: &mut run::Model,
        source: &source::Model,
    ) -> Result<bool, JobFailure> {
        let account = run.account_id;
        let key = source.integration_key.as_str();
        let Some(directory) = self.directories.get(key) else {
            return Err(JobFailure::Permanent(format!("no directory for {key}")));
        };
        let has_usernames = directory.has_usernames();
        let txn = begin_write(&self.db).await?;
        let records =
            store::sync::staged_after(&txn, run.id, run.applied_through, CHUNK_RECORDS).await?;
        let Some(last) = records.last().map(|r| r.position) else {
            return Ok(false);
        };
        let identifier = source.primary_identifier;
        let plans = self
            .plan_chunk(&txn, run, key, identifier, has_usernames, &records)
            .await?;
        let now = self.clock.now();
        // Each record's item and what is left to apply: planned first, in listing order.
        let mut items = Vec::new();
        let mut to_apply: Vec<(usize, UpstreamUser, Plan)> = Vec::new();
        for (record, (upstream, planned)) in records.iter().zip(plans) {
            let Some(action) = planned.action() else {
                run.unchanged += 1;
                continue;
            };
            let mut entry = item::Model {
                account_id: account,
                run_id: run.id,
                position: record.position,
                external_id: record.external_id.clone(),
                user_id: None,
                action,
                status: ItemStatus::Planned,
                changes: None,
                error: None,
            };
            match &planned {
                Plan::Conflict { candidates, reason } => {
                    entry.status = ItemStatus::Skipped;
                    entry.user_id = candidates.first().copied();
                    entry.error = Some((*reason).to_owned());
                }
                Plan::Link { user, changes } | Plan::Update { user, changes, .. } => {
                    entry.user_id = Some(*user);
                    entry.changes = Some(json!(changes));
                }
                Plan::Create { .. } | Plan::Unchanged { .. } => {}
            }
            if let Some(reason) = invalid_value(&upstream, &planned) {
                entry.status = ItemStatus::Failed;
                entry.error = Some(reason.to_owned());
            } else if !run.dry_run && entry.status == ItemStatus::Planned {
                to_apply.push((items.len(), upstream, planned));
            }
            items.push(entry);
        }
        let applied = self.apply_plans(&txn, account, key, to_apply, now).await?;
        let mut events = Vec::with_capacity(applied.len());
        for (index, result) in applied {
            let entry = &mut items[index];
            match result {
                Ok(user) => {
                    entry.status = ItemStatus::Applied;
                    entry.user_id = Some(user);
                    events.push(Event {
                        action: match entry.action {
                            ItemAction::Create => "user.imported",
                            ItemAction::Link => "user.linked_upstream",
                            _ => "user.updated_from_upstream",
                        },
                        target_type: "User",
                        target_id: Some(user.to_string()),
                        details: json!({ "syncRunId": run.id.to_string(), "externalId": entry.external_id }),
                        pii: entry.changes.clone().map(|changes| json!({ "changes": changes })),
                    });
                }
                Err(reason) => {
                    entry.status = ItemStatus::Failed;
                    entry.error = Some(reason);
                }
            }
        }
        for entry in &items {
            match (entry.status, entry.action) {
                (ItemStatus::Failed, _) => run.failed += 1,
                (ItemStatus::Skipped, _) => run.conflicts += 1,
                (_, ItemAction::Create) => run.created += 1,
                _ => run.updated += 1,
            }
        }
        let actor = Actor::system("user sync");
        store::sync::insert_items(&txn, items).await?;
        self.record_all(&txn, Some(account), &actor, events).await?;
        run.applied_through = last;
        run.updated_at = self.clock.now();
        *run = store::sync::update_run(&txn, run.clone()).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Plans a chunk's records in listing order: what the database says about each, then
    /// [`plan`]. A user an earlier record links is claimed for the later ones.
    async fn plan_chunk(
        &self,
        conn: &impl Conn,
        run: &run::Model,
        key: &str,
        identifier: Option<PrimaryIdentifier>,
        has_usernames: bool,
        records: &[staged::Model],
    ) -> AppResult<Vec<(UpstreamUser, Plan)>> {
        let account = run.account_id;
        let links = store::sync::links_by_external_ids(
            conn,
            account,
            key,
            records.iter().map(|r| r.external_id.clone()).collect(),
        )
        .await?;
        let linked_ids: Vec<UserId> = links.values().map(|l| l.user_id).collect();
        let linked_users = store::users::by_ids(conn, account, &linked_ids).await?;
        // Only unlinked records are matched: a link holds for good, so a resync with no new
        // record asks nothing more.
        let unlinked: Vec<&staged::Model> = records
            .iter()
            .filter(|r| !links.contains_key(&r.external_id))
            .collect();
        let usernames: Vec<String> = unlinked
            .iter()
            .filter(|_| has_usernames)
            .filter_map(|r| r.username.as_ref().map(|u| u.to_lowercase()))
            .collect();
        let emails: Vec<String> = unlinked
            .iter()
            .filter_map(|r| r.email.as_ref().map(|e| e.to_lowercase()))
            .collect();
        let by_username =
            store::sync::login_users_by_key(conn, account, user::Column::UsernameKey, usernames)
                .await?;
        let by_email =
            store::sync::login_users_by_key(conn, account, user::Column::EmailKey, emails).await?;
        let candidates: Vec<UserId> = by_username.iter().chain(&by_email).map(|u| u.id).collect();
        let mut claimed: HashSet<UserId> =
            store::sync::claimed_users(conn, account, key, run.id, candidates)
                .await?
                .into_iter()
                .collect();
        let new_keys: Vec<String> = unlinked
            .iter()
            .filter_map(|r| r.username_key.clone())
            .collect();
        let holders = store::bulk_jobs::username_holders(conn, account, new_keys.clone()).await?;
        let first_positions = store::sync::first_username_positions(conn, run.id, new_keys).await?;
        let folded = |value: &Option<String>| value.as_ref().map(|v| v.to_lowercase());
        let username_index = index_by(&by_username, |u| &u.username_key);
        let email_index = index_by(&by_email, |u| &u.email_key);
        let mut plans = Vec::with_capacity(records.len());
        for record in records {
            let linked = links.get(&record.external_id).and_then(|link| {
                linked_users
                    .get(&link.user_id)
                    .map(|user| (local_user(user), link.missing_since.is_some()))
            });
            let by_username = folded(&record.username)
                .filter(|_| has_usernames)
                .and_then(|k| username_index.get(&k).cloned())
                .unwrap_or_default();
            let by_email = folded(&record.email)
                .and_then(|k| email_index.get(&k).cloned())
                .unwrap_or_default();
            let record_claimed: Vec<UserId> = by_username
                .iter()
                .chain(&by_email)
                .map(|u| u.id)
                .filter(|id| claimed.contains(id))
                .collect();
            let new_username_taken = record.username_key.as_ref().is_some_and(|k| {
                holders.contains_key(k)
                    || first_positions
                        .get(k)
                        .is_some_and(|first| *first < record.position)
            });
            let facts = RecordFacts {
                linked,
                by_username,
                by_email,
                claimed: record_claimed,
                new_username_taken,
            };
            let upstream = upstream_of(record);
            let planned = plan(&upstream, &facts, identifier, has_usernames);
            if let Plan::Link { user, .. } = &planned {
                claimed.insert(*user);
            }
            plans.push((upstream, planned));
        }
        Ok(plans)
    }

    /// Applies a chunk's plans; each result by the index it came with. The chunk's new users go
    /// in multi-row inserts under one savepoint; should one of them conflict (another writer took
    /// a username meanwhile), they are written again one savepoint each, so one bad record
    /// never costs its neighbours. Links and updates take a savepoint each.
    async fn apply_plans(
        &self,
        txn: &DatabaseTransaction,
        account: AccountId,
        key: &str,
        plans: Vec<(usize, UpstreamUser, Plan)>,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<(usize, Result<UserId, String>)>> {
        let mut creates = Vec::new();
        let mut others = Vec::new();
        for (index, record, plan) in plans {
            match plan {
                Plan::Create { username } => creates.push((index, record, username)),
                other => others.push((index, record, other)),
            }
        }
        let mut results = Vec::with_capacity(creates.len() + others.len());
        if !creates.is_empty() {
            let ids: Vec<UserId> = creates.iter().map(|_| UserId::new()).collect();
            let users: Vec<user::ActiveModel> = creates
                .iter()
                .zip(&ids)
                .map(|((_, record, username), id)| {
                    pending_user(*id, account, record, username, now)
                })
                .collect();
            let links: Vec<(UserId, &str)> = ids
                .iter()
                .zip(&creates)
                .map(|(id, (_, record, _))| (*id, record.external_id.as_str()))
                .collect();
            let inserted = store::under_savepoint(txn, async |savepoint: &DatabaseTransaction| {
                store::insert_batched(savepoint, &users).await?;
                store::sync::insert_links(savepoint, account, key, &links, now).await
            })
            .await?;
            if inserted.is_ok() {
                results.extend(creates.iter().zip(ids).map(|((i, _, _), id)| (*i, Ok(id))));
            } else {
                others.extend(
                    creates.into_iter().map(|(index, record, username)| {
                        (index, record, Plan::Create { username })
                    }),
                );
            }
        }
        for (index, record, plan) in &others {
            let result = self
                .apply_record(txn, account, key, record, plan, now)
                .await?;
            results.push((*index, result));
        }
        Ok(results)
    }

    /// Applies one record's plan under a savepoint; the user changed, or why it failed.
    async fn apply_record(
        &self,
        txn: &DatabaseTransaction,
        account: AccountId,
        key: &str,
        record: &UpstreamUser,
        planned: &Plan,
        now: DateTime<Utc>,
    ) -> AppResult<Result<UserId, String>> {
        let written = store::under_savepoint(txn, async |savepoint: &DatabaseTransaction| {
            write_plan(savepoint, account, key, record, planned, now).await
        })
        .await?;
        Ok(written.map_err(|refused| {
            format!(
                "the change was refused by another user's data ({:?})",
                refused.violation
            )
        }))
    }

    /// Plans the source's next tick from `ended`, the end recorded on the run that ends now, as
    /// the schedule plans any after-completion run (interval and jitter), `slowdown` intervals
    /// away. The run's own end, not a second reading of the clock, so that the interval shown
    /// between a run and the next is exactly the planned one.
    async fn plan_next_run(
        &self,
        txn: &DatabaseTransaction,
        source: &source::Model,
        ended: DateTime<Utc>,
        slowdown: i64,
    ) -> AppResult<()> {
        let name = schedule_name(source.id);
        let Some(schedule) = store::schedules::find(txn, &name).await? else {
            return Ok(());
        };
        let extra = Duration::seconds(source.every_seconds.saturating_mul(slowdown - 1));
        let next = next_after_completion(&schedule, ended) + extra;
        store::schedules::plan_next(txn, &name, next, ended).await?;
        Ok(())
    }

    /// Records the caller's change in the audit log and commits it.
    async fn commit_with(
        &self,
        txn: DatabaseTransaction,
        caller: &AccountUser,
        event: Event,
    ) -> AppResult<()> {
        self.record(&txn, Some(caller.account_id), &Actor::user(caller), event)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Queues the job that carries `run` on; `step` keeps a run's jobs apart (its first, and
    /// the one after an approval).
    async fn enqueue_run(
        &self,
        txn: &DatabaseTransaction,
        account: AccountId,
        run: SyncRunId,
        step: &str,
    ) -> AppResult<()> {
        crate::jobs::worker::enqueue(
            txn,
            self,
            Some(account),
            RUN_USER_SYNC,
            json!({ "accountId": account.to_string(), "runId": run.to_string() }),
            RUN_ATTEMPTS,
            Some(format!("user_sync:{run}:{step}")),
        )
        .await?;
        Ok(())
    }

    /// Flags (or, by the policy, deactivates) the linked users the listing no longer has, in
    /// one transaction, so a crash never counts a run twice.
    async fn apply_missing(
        &self,
        run: &mut run::Model,
        source: &source::Model,
    ) -> Result<(), JobFailure> {
        let account = run.account_id;
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        let actor = Actor::system("user sync");
        let mut position = run.applied_through;
        let mut after = None;
        while let Some(batch) = missing_batch(&txn, run, source, &mut after).await? {
            let mut items = Vec::new();
            let mut events = Vec::new();
            for (link, user) in &batch {
                run.missing += 1;
                let action = self.missing_action(&txn, source, link, user).await?;
                if !run.dry_run {
                    let since = link.missing_since.unwrap_or(now);
                    store::sync::set_link_missing(&txn, link, since, link.missed_runs + 1).await?;
                    if action == Some(ItemAction::Deactivate) {
                        store::users::set_status(
                            &txn,
                            account,
                            user.id,
                            UserStatus::Deactivated,
                            now,
                        )
                        .await?;
                    }
                }
                let Some(action) = action else { continue };
                if action == ItemAction::Deactivate {
                    run.deactivated += 1;
                }
                position += 1;
                items.push(item::Model {
                    account_id: account,
                    run_id: run.id,
                    position,
                    external_id: link.external_id.clone(),
                    user_id: Some(user.id),
                    action,
                    status: if run.dry_run {
                        ItemStatus::Planned
                    } else {
                        ItemStatus::Applied
                    },
                    changes: None,
                    error: None,
                });
                if !run.dry_run {
                    events.push(Event {
                        action: if action == ItemAction::Deactivate {
                            "user.deactivated_gone_upstream"
                        } else {
                            "user.flagged_gone_upstream"
                        },
                        target_type: "User",
                        target_id: Some(user.id.to_string()),
                        details: json!({ "syncRunId": run.id.to_string(), "externalId": link.external_id }),
                        pii: None,
                    });
                }
            }
            store::sync::insert_items(&txn, items).await?;
            self.record_all(&txn, Some(account), &actor, events).await?;
        }
        run.missing_applied = true;
        run.updated_at = now;
        *run = store::sync::update_run(&txn, run.clone()).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Ends a run whose fetch was complete: SUCCEEDED, or PARTIAL when some changes failed.
    async fn finish_run(&self, mut run: run::Model) -> Result<(), JobFailure> {
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        run.status = if run.failed > 0 {
            RunStatus::Partial
        } else {
            RunStatus::Succeeded
        };
        if let Some(mut source) = self.end_run(&txn, &mut run, now).await? {
            if !run.dry_run {
                source.status = SourceStatus::Ok;
                source.consecutive_failures = 0;
                source.last_error = None;
                source.last_run_at = Some(now);
                self.plan_next_run(&txn, &source, now, 1).await?;
            }
            source.updated_at = now;
            store::sync::update_source(&txn, source).await?;
        }
        txn.commit().await?;
        tracing::info!(
            run = %run.id, status = ?run.status, fetched = run.fetched, created = run.created,
            updated = run.updated, missing = run.missing, conflicts = run.conflicts,
            failed = run.failed, "user sync run finished"
        );
        Ok(())
    }

    /// Records that `run` ended with the status it has, forgets what it staged, and lets its
    /// source go; the source as it is now, for the caller to update and save.
    async fn end_run(
        &self,
        txn: &DatabaseTransaction,
        run: &mut run::Model,
        now: DateTime<Utc>,
    ) -> AppResult<Option<source::Model>> {
        run.finished_at = Some(now);
        run.updated_at = now;
        *run = store::sync::update_run(txn, run.clone()).await?;
        store::sync::clear_staged(txn, run.id).await?;
        let source = store::sync::find_source(txn, run.account_id, run.source_id).await?;
        Ok(source.map(|mut source| {
            if source.active_run_id == Some(run.id) {
                source.active_run_id = None;
            }
            source
        }))
    }

    /// Ends a run whose fetch was incomplete or empty: nothing was changed. Refused credentials
    /// mark the source AUTH_FAILED and tell the account's admins, once; repeated failures slow
    /// the schedule down.
    async fn fail_run(&self, mut run: run::Model, failure: RunFailure) -> Result<(), JobFailure> {
        let message = failure.message();
        tracing::warn!(run = %run.id, source = %run.source_id, reason = %message, "user sync run failed");
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        run.status = RunStatus::Failed;
        run.error = Some(message.chars().take(1000).collect());
        let Some(mut source) = self.end_run(&txn, &mut run, now).await? else {
            txn.commit().await?;
            return Ok(());
        };
        if !run.dry_run {
            let refused = matches!(failure, RunFailure::Fetch(FetchError::Unauthorized(_)));
            let newly_refused = refused && source.status != SourceStatus::AuthFailed;
            source.status = if refused {
                SourceStatus::AuthFailed
            } else {
                SourceStatus::Failing
            };
            source.consecutive_failures += 1;
            source.last_error = Some(message.chars().take(500).collect());
            source.last_run_at = Some(now);
            let slowdown = (1_i64 << source.consecutive_failures.clamp(0, 3)).min(MAX_SLOWDOWN);
            self.plan_next_run(&txn, &source, now, slowdown).await?;
            if newly_refused {
                let account = store::accounts::find(&txn, run.account_id)
                    .await?
                    .map(|a| a.name)
                    .unwrap_or_default();
                let context = json!({
                    "account_name": account,
                    "integration": self
                        .catalog
                        .get(&source.integration_key)
                        .map(|i| i.name.clone())
                        .unwrap_or_else(|| source.integration_key.clone()),
                    "product": "Liaison",
                });
                self.email_admins(&txn, run.account_id, None, "user-sync-auth-failed", context)
                    .await?;
            }
        }
        source.updated_at = now;
        store::sync::update_source(&txn, source).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Attempts a queued run gets: a database failure mid-run resumes where the run stood.
const RUN_ATTEMPTS: i32 = 5;

/// Runs scheduled syncs and queued runs (manual, previews, approved ones).
pub struct RunUserSync;

#[async_trait::async_trait]
impl JobHandler for RunUserSync {
    fn kind(&self) -> &'static str {
        RUN_USER_SYNC
    }

    async fn run(&self, ctx: JobContext<'_>) -> Result<(), JobFailure> {
        let field = |name: &str| -> Option<uuid::Uuid> {
            ctx.job
                .payload
                .get(name)
                .and_then(Value::as_str)
                .and_then(|v| v.parse().ok())
        };
        let Some(account) = field("accountId").map(AccountId) else {
            return Err(JobFailure::Permanent("the job names no account".into()));
        };
        match (field("runId"), field("sourceId")) {
            (Some(run), _) => {
                let run = SyncRunId(run);
                let result = ctx.services.execute_sync_run(account, run).await;
                if let Err(failure) = &result
                    && ctx.last_attempt()
                {
                    ctx.services
                        .abandon_sync_run(account, run, &failure.to_string())
                        .await?;
                }
                result
            }
            (None, Some(source)) => {
                ctx.services
                    .start_scheduled_sync(account, SyncSourceId(source))
                    .await
            }
            (None, None) => Err(JobFailure::Permanent("the job names no sync run".into())),
        }
    }
}
