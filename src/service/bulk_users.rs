//! Users created (or pending users activated) in bulk from a template user. One engine serves
//! the preview and the job: both gather the same facts chunk by chunk and ask the same
//! [`judge`]; the job then writes a chunk's rows in one transaction: its new users in multi-row
//! inserts under one savepoint, or, should one of them conflict, each row under a savepoint of its
//! own, so one bad row never costs its neighbours and many rows do not cost one commit each.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use sea_orm::{ActiveValue::Set, DatabaseTransaction, IntoActiveModel, TryIntoModel};
use serde_json::{Value, json};

use super::Services;
use super::audit::{Actor, Event};
use super::users::ValidUser;
use crate::auth::principal::AccountUser;
use crate::domain::bulk::{
    AgentChoice, FirstSeen, JobSource, JobStatus, MAX_ROWS, RowError, RowFacts, RowStatus,
    SourceRow, TemplateNeeds, ValidRow, Verdict, judge,
};
use crate::domain::ids::{AccountId, BulkUserJobId, UserId, UserViewId};
use crate::domain::permission::{Area, Level};
use crate::domain::user::{UserKind, UserStatus};
use crate::domain::values::{AgentId, Username};
use crate::error::{AppError, AppResult, UserError};
use crate::jobs::JobFailure;
use crate::store::constraint::{Violation, classify};
use crate::store::entities::audit_event::ActorKind;
use crate::store::entities::{bulk_user_job as job, bulk_user_job_row as job_row, user};
use crate::store::{self, Conn, begin_write};

/// The background job kind that runs bulk user jobs.
pub const RUN_BULK_JOB: &str = "bulk_users.run";
/// How often a running chunk looks for a cancellation between rows.
const CANCEL_CHECK: Duration = Duration::from_millis(100);
/// Agent IDs read per look-up while generating.
const AGENT_ID_WINDOW: i64 = 1000;

/// Where the rows come from.
#[derive(Clone, Debug)]
pub enum BulkSource {
    Rows(Vec<SourceRow>),
    /// Rows read from an uploaded CSV file.
    Csv(Vec<SourceRow>),
    PendingUsers(Vec<UserId>),
    /// The users a saved view shows now: pending ones are activated, others skipped.
    UserView(UserViewId),
}

#[derive(Clone, Debug)]
pub struct BulkUsersInput {
    pub template_user_id: UserId,
    pub source: BulkSource,
    /// Generate agent IDs from this number for rows without one.
    pub starting_agent_id: Option<i64>,
    pub idempotency_key: Option<String>,
}

/// A row's outcome, in a preview or a job.
#[derive(Clone, Debug)]
pub struct RowOutcome {
    pub position: i32,
    pub source: SourceRow,
    pub status: RowStatus,
    pub user_id: Option<UserId>,
    pub agent_id: Option<i64>,
    pub errors: Vec<RowError>,
}

impl RowOutcome {
    pub fn from_row(row: &job_row::Model) -> Self {
        Self {
            position: row.position,
            source: source_of(row),
            status: row.status,
            user_id: row.user_id,
            agent_id: row.agent_id,
            errors: row
                .errors
                .clone()
                .and_then(|e| serde_json::from_value(e).ok())
                .unwrap_or_default(),
        }
    }
}

/// A stored row's source as given.
fn source_of(row: &job_row::Model) -> SourceRow {
    serde_json::from_value(row.source.clone()).unwrap_or_default()
}

/// The template user (whose settings and ties are copied) and what its type asks of each row.
struct Template {
    user: user::Model,
    needs: TemplateNeeds,
}

/// Where generated agent IDs come from: the next candidate not used in the account and not given
/// by any row of the batch, read a window at a time.
struct AgentIds<'a> {
    next: i64,
    window_end: i64,
    taken: BTreeSet<i64>,
    given: GivenIds<'a>,
}

/// The agent IDs the batch's rows give: in memory for a preview, stored for a job.
enum GivenIds<'a> {
    InMemory(&'a HashMap<i64, i32>),
    Stored(BulkUserJobId),
}

impl AgentIds<'_> {
    async fn next(&mut self, conn: &impl Conn, account: AccountId) -> AppResult<Option<i64>> {
        loop {
            if self.next > AgentId::MAX {
                return Ok(None);
            }
            if self.next >= self.window_end {
                let end = self.next.saturating_add(AGENT_ID_WINDOW);
                let mut taken: BTreeSet<i64> =
                    store::bulk_jobs::used_agent_ids_between(conn, account, self.next, end)
                        .await?
                        .into_iter()
                        .collect();
                match &self.given {
                    GivenIds::InMemory(given) => taken.extend(
                        given
                            .keys()
                            .copied()
                            .filter(|id| (self.next..end).contains(id)),
                    ),
                    GivenIds::Stored(job) => taken.extend(
                        store::bulk_jobs::given_agent_ids_between(conn, *job, self.next, end)
                            .await?,
                    ),
                }
                self.taken = taken;
                self.window_end = end;
            }
            let candidate = self.next;
            self.next += 1;
            if !self.taken.contains(&candidate) {
                return Ok(Some(candidate));
            }
        }
    }
}

fn no_free_agent_id() -> Vec<RowError> {
    vec![RowError {
        code: "MISSING_AGENT_ID".into(),
        message: "no free agent ID is left above the starting ID".into(),
    }]
}

impl Services {
    /// What a real run would do with these rows now, writing nothing.
    pub async fn preview_users_from_template(
        &self,
        caller: &AccountUser,
        input: BulkUsersInput,
    ) -> AppResult<Vec<RowOutcome>> {
        let account = caller.account_id;
        let (template, _, rows) = self.prepare(caller, &input).await?;
        let all: Vec<(i32, SourceRow)> = rows
            .into_iter()
            .enumerate()
            .map(|(index, row)| (position(index), row))
            .collect();
        let seen = FirstSeen::of(all.iter().map(|(position, row)| (*position, row)));
        let (_, mut seats) = self.seats(&self.db, account).await?;
        let mut agents = AgentIds {
            next: input.starting_agent_id.unwrap_or(1),
            window_end: 0,
            taken: BTreeSet::new(),
            given: GivenIds::InMemory(&seen.agent_ids),
        };
        let mut outcomes = Vec::with_capacity(all.len());
        for chunk in all.chunks(self.settings.bulk_chunk_rows) {
            let facts = self.row_facts(&self.db, account, chunk, &seen).await?;
            for ((position, row), facts) in chunk.iter().zip(facts) {
                let verdict = judge(row, template.needs, facts, &mut seats);
                let mut outcome = outcome(*position, row, &verdict);
                if let Verdict::Create(_, choice) = verdict {
                    match choice {
                        AgentChoice::Given(id) => outcome.agent_id = Some(id),
                        AgentChoice::Generate => match agents.next(&self.db, account).await? {
                            Some(id) => outcome.agent_id = Some(id),
                            None => {
                                // As in a run: the row fails and gives its seat back.
                                seats += 1;
                                fail(&mut outcome, no_free_agent_id());
                            }
                        },
                        AgentChoice::None => {}
                    }
                    outcome.user_id = row.pending_user_id;
                }
                outcomes.push(outcome);
            }
        }
        Ok(outcomes)
    }

    /// The rows of an uploaded CSV file, or INVALID_CSV saying why none can be used. Needs
    /// BULK_USERS FULL (checked before the file is read).
    pub async fn read_csv(
        &self,
        caller: &AccountUser,
        file: impl AsRef<[u8]> + Send + 'static,
    ) -> AppResult<Vec<SourceRow>> {
        caller.require(Area::BulkUsers, Level::Full)?;
        let read =
            tokio::task::spawn_blocking(move || crate::domain::bulk_csv::read_rows(file.as_ref()))
                .await
                .map_err(|error| AppError::Internal(error.to_string()))?;
        read.map_err(|error| {
            AppError::rejected(UserError::new(
                &["input", "csv"],
                "INVALID_CSV",
                error.to_string(),
            ))
        })
    }

    /// Records a job with its rows and queues it; the same idempotency key returns the same job.
    pub async fn create_users_from_template(
        &self,
        caller: &AccountUser,
        input: BulkUsersInput,
    ) -> AppResult<job::Model> {
        let account = caller.account_id;
        if let Some(key) = &input.idempotency_key {
            caller.require(Area::BulkUsers, Level::Full)?;
            if let Some(existing) = store::bulk_jobs::find_by_key(&self.db, account, key).await? {
                return Ok(existing);
            }
        }
        let (template, source, rows) = self.prepare(caller, &input).await?;
        self.record_job(
            caller,
            template.user.id,
            source,
            rows,
            input.starting_agent_id,
            input.idempotency_key,
            None,
        )
        .await
    }

    /// A new job with the failed rows of `id` (pending users read afresh, so fixed data counts).
    pub async fn retry_failed_rows(
        &self,
        caller: &AccountUser,
        id: BulkUserJobId,
        idempotency_key: Option<String>,
    ) -> AppResult<job::Model> {
        caller.require(Area::BulkUsers, Level::Full)?;
        let account = caller.account_id;
        let original = store::bulk_jobs::find_job(&self.db, account, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !original.status.is_finished() {
            return Err(AppError::rejected(UserError::new(
                &["input", "jobId"],
                "JOB_RUNNING",
                "the job is still running; retry its failed rows when it has finished",
            )));
        }
        if let Some(key) = &idempotency_key
            && let Some(existing) = store::bulk_jobs::find_by_key(&self.db, account, key).await?
        {
            return Ok(existing);
        }
        let failed = store::bulk_jobs::page_rows(
            &self.db,
            account,
            id,
            Some(RowStatus::Failed),
            0,
            MAX_ROWS as u64,
        )
        .await?;
        if failed.is_empty() {
            return Err(AppError::rejected(UserError::new(
                &["input", "jobId"],
                "NOTHING_TO_RETRY",
                "the job has no failed rows",
            )));
        }
        let mut rows = Vec::with_capacity(failed.len());
        let mut pending = Vec::new();
        for row in &failed {
            let source = RowOutcome::from_row(row).source;
            match source.pending_user_id {
                Some(user) => pending.push(user),
                None => rows.push(source),
            }
        }
        rows.extend(self.pending_rows(&self.db, account, &pending).await?);
        let template = self
            .template(&self.db, caller, original.template_user_id, false)
            .await?;
        self.record_job(
            caller,
            template.user.id,
            JobSource::Retry,
            rows,
            original.starting_agent_id,
            idempotency_key,
            Some(id),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_job(
        &self,
        caller: &AccountUser,
        template: UserId,
        source: JobSource,
        rows: Vec<SourceRow>,
        starting_agent_id: Option<i64>,
        idempotency_key: Option<String>,
        retry_of: Option<BulkUserJobId>,
    ) -> AppResult<job::Model> {
        let account = caller.account_id;
        let now = self.clock.now();
        let id = BulkUserJobId::new();
        let total = i32::try_from(rows.len()).unwrap_or(i32::MAX);
        let txn = begin_write(&self.db).await?;
        let recorded = store::bulk_jobs::insert_job(
            &txn,
            job::Model {
                id,
                account_id: account,
                requested_by: caller.user_id,
                template_user_id: template,
                idempotency_key: idempotency_key.clone(),
                source,
                retry_of,
                starting_agent_id,
                next_agent_id: starting_agent_id,
                status: JobStatus::Queued,
                total,
                processed: 0,
                created: 0,
                failed: 0,
                skipped: 0,
                cancel_requested_at: None,
                created_at: now,
                updated_at: now,
                started_at: None,
                finished_at: None,
            },
        )
        .await;
        let recorded = match recorded {
            Ok(recorded) => recorded,
            // Two requests with one key at once: the other one recorded the job.
            Err(error) if idempotency_key.is_some() && classify(&error).is_some() => {
                txn.rollback().await?;
                let key = idempotency_key.unwrap_or_default();
                return store::bulk_jobs::find_by_key(&self.db, account, &key)
                    .await?
                    .ok_or(AppError::Database(error));
            }
            Err(error) => return Err(error.into()),
        };
        let stored = rows
            .into_iter()
            .enumerate()
            .map(|(index, source)| {
                let queued = RowOutcome {
                    position: position(index),
                    source,
                    status: RowStatus::Queued,
                    user_id: None,
                    agent_id: None,
                    errors: Vec::new(),
                };
                stored_row(account, id, queued, None)
            })
            .collect();
        store::bulk_jobs::insert_rows(&txn, stored).await?;
        crate::jobs::worker::enqueue(
            &txn,
            self,
            Some(account),
            RUN_BULK_JOB,
            json!({ "accountId": account.to_string(), "jobId": id.to_string() }),
            10,
            Some(format!("bulk_users:{id}")),
        )
        .await?;
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            Event {
                action: "bulk_user_job.created",
                target_type: "BulkUserJob",
                target_id: Some(id.to_string()),
                details: json!({ "templateUserId": template.to_string(), "rows": total, "retryOf": retry_of.map(|r| r.to_string()) }),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(recorded)
    }

    /// Checks the caller and the input, loads the template and lists the rows.
    async fn prepare(
        &self,
        caller: &AccountUser,
        input: &BulkUsersInput,
    ) -> AppResult<(Template, JobSource, Vec<SourceRow>)> {
        let mut needs = vec![(Area::BulkUsers, Level::Full)];
        if let BulkSource::Rows(rows) | BulkSource::Csv(rows) = &input.source
            && rows.iter().any(|r| r.email.is_some() || r.phone.is_some())
        {
            needs.push((Area::UserPii, Level::Full));
        }
        caller.require_all(&needs)?;
        let mut problems = Vec::new();
        if let Some(start) = input.starting_agent_id
            && AgentId::parse(start).is_err()
        {
            problems.push(UserError::new(
                &["input", "generateAgentIds", "startingId"],
                "INVALID_AGENT_ID",
                format!(
                    "the starting ID is a whole number from 1 to {}",
                    AgentId::MAX
                ),
            ));
        }
        if let Some(key) = &input.idempotency_key
            && (key.trim().is_empty() || key.chars().count() > 100)
        {
            problems.push(UserError::new(
                &["input", "idempotencyKey"],
                "INVALID_IDEMPOTENCY_KEY",
                "an idempotency key has 1 to 100 characters",
            ));
        }
        let account = caller.account_id;
        // An unknown view has no rows to count.
        let mut source_known = true;
        let (source, rows) = match &input.source {
            BulkSource::Rows(rows) => (JobSource::Rows, rows.clone()),
            BulkSource::Csv(rows) => (JobSource::Csv, rows.clone()),
            BulkSource::UserView(id) => {
                let rows = match store::user_views::find(&self.db, account, *id).await? {
                    Some(view) => {
                        let ids = store::users::matching_ids(
                            &self.db,
                            account,
                            &Services::view_filter(&view),
                            MAX_ROWS as u64 + 1,
                        )
                        .await?;
                        self.pending_rows(&self.db, account, &ids).await?
                    }
                    None => {
                        source_known = false;
                        problems.push(UserError::new(
                            &["input", "userViewId"],
                            "UNKNOWN_VIEW",
                            "the user view does not exist in the account",
                        ));
                        Vec::new()
                    }
                };
                (JobSource::UserView, rows)
            }
            BulkSource::PendingUsers(ids) => {
                let mut unique = Vec::with_capacity(ids.len());
                for id in ids {
                    if !unique.contains(id) {
                        unique.push(*id);
                    }
                }
                let rows = self.pending_rows(&self.db, account, &unique).await?;
                if rows.len() != unique.len() {
                    problems.push(UserError::new(
                        &["input", "pendingUserIds"],
                        "UNKNOWN_USER",
                        "a user does not exist in the account",
                    ));
                }
                (JobSource::PendingUsers, rows)
            }
        };
        if source_known && (rows.is_empty() || rows.len() > MAX_ROWS) {
            problems.push(UserError::new(
                &["input"],
                "INVALID_COUNT",
                format!("give 1 to {MAX_ROWS} rows"),
            ));
        }
        let template = match self
            .template(
                &self.db,
                caller,
                input.template_user_id,
                input.starting_agent_id.is_some(),
            )
            .await
        {
            Ok(template) => Some(template),
            Err(AppError::Rejected(errors)) => {
                problems.extend(errors);
                None
            }
            Err(other) => return Err(other),
        };
        match template {
            Some(template) if problems.is_empty() => Ok((template, source, rows)),
            _ => Err(AppError::Rejected(problems)),
        }
    }

    /// The template user, checked for the caller: its roles must grant nothing the caller's
    /// roles do not (a template never raises anyone's privileges).
    async fn template(
        &self,
        conn: &impl Conn,
        caller: &AccountUser,
        id: UserId,
        generates_agent_ids: bool,
    ) -> AppResult<Template> {
        let template = self
            .load_template(conn, caller.account_id, id, generates_agent_ids)
            .await?;
        let grants = store::roles::effective_grants(conn, caller.account_id, id).await?;
        if !grants.is_within(&caller.grants) {
            return Err(AppError::ForbiddenBecause(
                "the template's roles grant more than your own roles do",
            ));
        }
        Ok(template)
    }

    async fn load_template(
        &self,
        conn: &impl Conn,
        account: AccountId,
        id: UserId,
        generates_agent_ids: bool,
    ) -> AppResult<Template> {
        let user = store::users::find(conn, account, id)
            .await?
            .filter(|u| u.kind == UserKind::Login && u.status != UserStatus::Pending)
            .ok_or_else(|| {
                AppError::rejected(UserError::new(
                    &["input", "templateUserId"],
                    "UNKNOWN_TEMPLATE",
                    "the template is an existing login user of the account",
                ))
            })?;
        let needs = TemplateNeeds {
            phone_and_agent_id: user.user_type.is_some_and(|t| t.needs_phone_and_agent_id()),
            generates_agent_ids,
        };
        Ok(Template { user, needs })
    }

    /// Rows for pending users, in the order given: their records as they are now. A user without
    /// a username gets their email as username.
    async fn pending_rows(
        &self,
        conn: &impl Conn,
        account: AccountId,
        ids: &[UserId],
    ) -> AppResult<Vec<SourceRow>> {
        let mut found = store::users::by_ids(conn, account, ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id))
            .map(|user| SourceRow {
                username: user.username.or_else(|| user.email.clone()),
                first_name: user.first_name,
                last_name: user.last_name,
                display_name: user.display_name,
                email: user.email,
                phone: user.phone,
                agent_id: user.agent_id,
                external_source: None,
                external_id: None,
                pending_user_id: Some(user.id),
            })
            .collect())
    }

    /// What the database and the earlier rows of the batch say about each row of a chunk.
    async fn row_facts(
        &self,
        conn: &impl Conn,
        account: AccountId,
        rows: &[(i32, SourceRow)],
        seen: &FirstSeen,
    ) -> AppResult<Vec<RowFacts>> {
        let usernames = store::bulk_jobs::username_holders(
            conn,
            account,
            rows.iter().filter_map(|(_, r)| r.username_key()).collect(),
        )
        .await?;
        let agents = store::bulk_jobs::agent_id_holders(
            conn,
            account,
            rows.iter().filter_map(|(_, r)| r.agent_id).collect(),
        )
        .await?;
        let externals: Vec<(String, String)> = rows
            .iter()
            .filter_map(|(_, r)| r.external())
            .map(|(s, i)| (s.to_owned(), i.to_owned()))
            .collect();
        let linked = store::bulk_jobs::linked_externals(conn, account, &externals).await?;
        let pending_ids: Vec<UserId> = rows.iter().filter_map(|(_, r)| r.pending_user_id).collect();
        let pending = store::users::by_ids(conn, account, &pending_ids).await?;
        Ok(rows
            .iter()
            .map(|(position, row)| {
                let itself = row.pending_user_id;
                let held_by_other =
                    |holder: Option<&UserId>| holder.is_some_and(|holder| Some(*holder) != itself);
                let (username_earlier, agent_earlier, link_earlier) = seen.earlier(*position, row);
                let pending_gone = itself.is_some_and(|id| {
                    pending
                        .get(&id)
                        .is_none_or(|user| user.status != UserStatus::Pending)
                });
                let external_linked = row
                    .external()
                    .is_some_and(|(s, i)| linked.contains(&(s.to_owned(), i.to_owned())));
                RowFacts {
                    already_linked: pending_gone || external_linked,
                    username_in_account: held_by_other(
                        row.username_key().as_ref().and_then(|k| usernames.get(k)),
                    ),
                    username_earlier_in_batch: username_earlier,
                    agent_id_in_account: held_by_other(
                        row.agent_id.as_ref().and_then(|a| agents.get(a)),
                    ),
                    agent_id_earlier_in_batch: agent_earlier,
                    link_earlier_in_batch: link_earlier,
                }
            })
            .collect())
    }

    /// Runs one chunk of a job in one transaction; `true` when the job has finished.
    pub async fn run_bulk_chunk(
        &self,
        account: AccountId,
        id: BulkUserJobId,
    ) -> Result<bool, JobFailure> {
        let txn = begin_write(&self.db).await?;
        let now = self.clock.now();
        // The account lock serialises chunks (and seat counting) across workers and replicas.
        store::accounts::lock(&txn, account, now).await?;
        let Some(mut job) = store::bulk_jobs::find_job(&txn, account, id).await? else {
            return Err(JobFailure::Permanent(format!(
                "bulk job {id} does not exist"
            )));
        };
        if job.status.is_finished() {
            return Ok(true);
        }
        if job.cancel_requested_at.is_some() {
            let cancelled = store::bulk_jobs::cancel_queued_rows(&txn, id, now).await?;
            tracing::info!(job = %id, cancelled, "bulk job cancelled");
            return finish(txn, job, JobStatus::Cancelled, now).await;
        }
        let rows =
            store::bulk_jobs::queued_rows(&txn, id, self.settings.bulk_chunk_rows as u64).await?;
        if rows.is_empty() {
            let status = if job.failed > 0 {
                JobStatus::CompletedWithErrors
            } else {
                JobStatus::Completed
            };
            return finish(txn, job, status, now).await;
        }
        let template = match self
            .load_template(
                &txn,
                account,
                job.template_user_id,
                job.starting_agent_id.is_some(),
            )
            .await
        {
            Ok(template) => template,
            Err(AppError::Rejected(_)) => return finish(txn, job, JobStatus::Failed, now).await,
            Err(other) => return Err(other.into()),
        };
        let sources: Vec<(i32, SourceRow)> = rows
            .iter()
            .map(|row| (row.position, source_of(row)))
            .collect();
        let seen = store::bulk_jobs::first_seen(
            &txn,
            id,
            sources
                .iter()
                .filter_map(|(_, r)| r.username_key())
                .collect(),
            sources.iter().filter_map(|(_, r)| r.agent_id).collect(),
            sources.iter().filter_map(|(_, r)| r.link_key()).collect(),
        )
        .await?;
        let facts = self.row_facts(&txn, account, &sources, &seen).await?;
        let (_, mut seats) = self.seats(&txn, account).await?;
        let mut agents = AgentIds {
            next: job.next_agent_id.or(job.starting_agent_id).unwrap_or(1),
            window_end: 0,
            taken: BTreeSet::new(),
            given: GivenIds::Stored(id),
        };
        let actor = Actor {
            kind: ActorKind::User,
            id: Some(job.requested_by.to_string()),
            label: None,
        };
        let mut results = Vec::with_capacity(rows.len());
        // The users written per row, by the row's index in `results`.
        let mut written: Vec<Option<user::Model>> = Vec::with_capacity(rows.len());
        let mut planned = Vec::new();
        let mut last_check = Instant::now();
        for ((position, source), facts) in sources.iter().zip(facts) {
            if last_check.elapsed() >= CANCEL_CHECK {
                last_check = Instant::now();
                if store::bulk_jobs::cancel_requested(&txn, id).await? {
                    break;
                }
            }
            let verdict = judge(source, template.needs, facts, &mut seats);
            let mut outcome = outcome(*position, source, &verdict);
            let mut user = None;
            if let Verdict::Create(valid, choice) = verdict {
                // Agent IDs are drawn in row order, as the preview draws them.
                let first = match choice {
                    AgentChoice::Given(id) => Some(id),
                    AgentChoice::Generate => agents.next(&txn, account).await?,
                    AgentChoice::None => None,
                };
                let row = PlannedRow {
                    index: results.len(),
                    valid,
                    choice,
                    agent_id: first,
                };
                if choice == AgentChoice::Generate && first.is_none() {
                    seats += 1;
                    fail(&mut outcome, no_free_agent_id());
                } else if source.pending_user_id.is_some() {
                    let write = self.write_row(&txn, account, &template, source, row, &mut agents);
                    user = settle(&mut outcome, &mut seats, write.await?);
                } else {
                    planned.push(row);
                }
            }
            results.push(outcome);
            written.push(user);
        }
        for (index, write) in self
            .insert_planned(&txn, account, &template, &sources, planned, &mut agents)
            .await?
        {
            written[index] = settle(&mut results[index], &mut seats, write);
        }
        let (mut created, mut activated) = (Vec::new(), Vec::new());
        let mut links = Vec::new();
        // One audit event per user, written with the chunk (in its transaction).
        let mut events = Vec::new();
        for ((result, user), (_, source)) in results.iter_mut().zip(&written).zip(&sources) {
            let Some(user) = user else { continue };
            result.user_id = Some(user.id);
            result.agent_id = user.agent_id;
            let was_pending = source.pending_user_id.is_some();
            if was_pending {
                activated.push(user.id);
            } else {
                created.push(user.id);
            }
            if let Some((s, i)) = source.external() {
                links.push((user.id, s.to_owned(), i.to_owned()));
            }
            events.push(Event {
                action: if was_pending {
                    "user.activated_from_template"
                } else {
                    "user.created_from_template"
                },
                target_type: "User",
                target_id: Some(user.id.to_string()),
                details: json!({ "username": user.username, "bulkUserJobId": id.to_string(), "templateUserId": template.user.id.to_string(), "agentId": user.agent_id }),
                pii: Some(json!({ "email": user.email, "phone": user.phone })),
            });
        }
        store::bulk_jobs::copy_memberships(&txn, account, template.user.id, &created, &activated)
            .await?;
        store::bulk_jobs::link_externals(&txn, account, links, now).await?;
        self.record_all(&txn, Some(account), &actor, events).await?;
        for result in &results {
            match result.status {
                RowStatus::Created => job.created += 1,
                RowStatus::Skipped => job.skipped += 1,
                RowStatus::Failed => job.failed += 1,
                RowStatus::Queued | RowStatus::Cancelled => {}
            }
        }
        job.processed += i32::try_from(results.len()).unwrap_or(0);
        job.next_agent_id = job.starting_agent_id.map(|_| agents.next);
        job.status = JobStatus::Running;
        job.started_at = job.started_at.or(Some(now));
        job.updated_at = now;
        let stored: Vec<_> = results
            .into_iter()
            .map(|r| stored_row(account, id, r, Some(now)))
            .collect();
        store::bulk_jobs::save_results(&txn, id, &stored).await?;
        store::bulk_jobs::update_job(&txn, job).await?;
        txn.commit().await?;
        Ok(false)
    }

    /// Inserts the chunk's new users in multi-row statements under one savepoint. Should any row
    /// conflict (another writer took a username or an agent ID since the checks), the savepoint
    /// is rolled back and every row is written under a savepoint of its own instead, so one bad
    /// row never costs its neighbours. Returns each row's result by its index in the chunk.
    async fn insert_planned(
        &self,
        txn: &DatabaseTransaction,
        account: AccountId,
        template: &Template,
        sources: &[(i32, SourceRow)],
        planned: Vec<PlannedRow>,
        agents: &mut AgentIds<'_>,
    ) -> AppResult<Vec<(usize, Result<user::Model, RowWrite>)>> {
        if planned.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        let models: Vec<user::ActiveModel> = planned
            .iter()
            .map(|row| row.new_user(template).into_model(account, now))
            .collect();
        let inserted = store::under_savepoint(txn, async |savepoint: &DatabaseTransaction| {
            store::insert_batched(savepoint, &models).await
        })
        .await?;
        if inserted.is_ok() {
            return planned
                .iter()
                .zip(models)
                .map(|(row, model)| Ok((row.index, Ok(model.try_into_model()?))))
                .collect();
        }
        let mut results = Vec::with_capacity(planned.len());
        for row in planned {
            let index = row.index;
            let source = &sources[index].1;
            let write = self.write_row(txn, account, template, source, row, agents);
            results.push((index, write.await?));
        }
        Ok(results)
    }

    /// Creates (or activates) one row's user under its own savepoint. A generated agent ID that
    /// another writer took first moves on to the next free one; a given one fails the row.
    async fn write_row(
        &self,
        txn: &DatabaseTransaction,
        account: AccountId,
        template: &Template,
        source: &SourceRow,
        mut row: PlannedRow,
        agents: &mut AgentIds<'_>,
    ) -> AppResult<Result<user::Model, RowWrite>> {
        loop {
            let written = store::under_savepoint(txn, async |savepoint: &DatabaseTransaction| {
                match source.pending_user_id {
                    Some(pending) => {
                        let agent = row.agent_id.and_then(|id| AgentId::parse(id).ok());
                        self.activate(
                            savepoint,
                            account,
                            pending,
                            &template.user,
                            &row.valid.username,
                            agent,
                        )
                        .await
                    }
                    None => {
                        let now = self.clock.now();
                        let model = row.new_user(template).into_model(account, now);
                        store::users::insert(savepoint, model).await.map(Some)
                    }
                }
            })
            .await?;
            let refused = match written {
                Ok(Some(user)) => return Ok(Ok(user)),
                // Not pending any more: nothing was written.
                Ok(None) => return Ok(Err(RowWrite::Skipped)),
                Err(refused) => refused,
            };
            match (refused.violation, row.choice) {
                (Violation::AgentIdTaken, AgentChoice::Generate) => {
                    match agents.next(txn, account).await? {
                        Some(next) => row.agent_id = Some(next),
                        None => return Ok(Err(RowWrite::Failed(no_free_agent_id()))),
                    }
                }
                (Violation::AgentIdTaken, _) => {
                    return Ok(Err(RowWrite::Failed(vec![RowError::agent_id_in_use(
                        row.agent_id.unwrap_or_default(),
                    )])));
                }
                (Violation::UsernameTaken, _) => {
                    return Ok(Err(RowWrite::Failed(vec![RowError::username_exists()])));
                }
                _ => return Err(refused.error.into()),
            }
        }
    }

    /// Activates a pending user with the template's settings; `None` when it is no longer pending.
    async fn activate(
        &self,
        conn: &impl Conn,
        account: AccountId,
        id: UserId,
        template: &user::Model,
        username: &Username,
        agent: Option<AgentId>,
    ) -> Result<Option<user::Model>, sea_orm::DbErr> {
        let Some(pending) = store::users::find(conn, account, id)
            .await?
            .filter(|u| u.status == UserStatus::Pending)
        else {
            return Ok(None);
        };
        let mut model = pending.into_active_model();
        model.kind = Set(UserKind::Login);
        model.status = Set(UserStatus::Active);
        model.username = Set(Some(username.as_str().to_owned()));
        model.username_key = Set(Some(username.key()));
        model.agent_id = Set(agent.map(AgentId::get));
        model.user_type = Set(template.user_type);
        model.country = Set(template.country.clone());
        model.telephony_region = Set(template.telephony_region.clone());
        model.licence_type = Set(template.licence_type.clone());
        model.updated_at = Set(self.clock.now());
        store::users::update(conn, model).await.map(Some)
    }

    /// Asks a job to stop after its current row.
    pub async fn cancel_bulk_user_job(
        &self,
        caller: &AccountUser,
        id: BulkUserJobId,
    ) -> AppResult<job::Model> {
        caller.require(Area::BulkUsers, Level::Full)?;
        let account = caller.account_id;
        let txn = begin_write(&self.db).await?;
        let job = store::bulk_jobs::find_job(&txn, account, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !store::bulk_jobs::request_cancel(&txn, account, id, self.clock.now()).await? {
            return Err(AppError::rejected(UserError::new(
                &["input", "id"],
                "JOB_FINISHED",
                "the job has finished or is being cancelled already",
            )));
        }
        self.record(
            &txn,
            Some(account),
            &Actor::user(caller),
            Event {
                action: "bulk_user_job.cancel_requested",
                target_type: "BulkUserJob",
                target_id: Some(id.to_string()),
                details: json!({}),
                pii: None,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(job)
    }

    pub async fn bulk_user_job(
        &self,
        caller: &AccountUser,
        id: BulkUserJobId,
    ) -> AppResult<job::Model> {
        caller.require(Area::BulkUsers, Level::Read)?;
        store::bulk_jobs::find_job(&self.db, caller.account_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// A page of the account's jobs, newest first.
    pub async fn bulk_user_jobs(
        &self,
        caller: &AccountUser,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<job::Model>> {
        caller.require(Area::BulkUsers, Level::Read)?;
        Ok(store::bulk_jobs::page_jobs(&self.db, caller.account_id, offset, limit).await?)
    }

    pub async fn bulk_user_job_count(&self, caller: &AccountUser) -> AppResult<u64> {
        caller.require(Area::BulkUsers, Level::Read)?;
        Ok(store::bulk_jobs::count_jobs(&self.db, caller.account_id).await?)
    }

    /// A page of a job's rows in source order.
    pub async fn bulk_user_job_rows(
        &self,
        caller: &AccountUser,
        id: BulkUserJobId,
        status: Option<RowStatus>,
        offset: u64,
        limit: u64,
    ) -> AppResult<Vec<RowOutcome>> {
        caller.require(Area::BulkUsers, Level::Read)?;
        let rows =
            store::bulk_jobs::page_rows(&self.db, caller.account_id, id, status, offset, limit)
                .await?;
        Ok(rows.iter().map(RowOutcome::from_row).collect())
    }

    pub async fn bulk_user_job_row_count(
        &self,
        caller: &AccountUser,
        id: BulkUserJobId,
        status: Option<RowStatus>,
    ) -> AppResult<u64> {
        caller.require(Area::BulkUsers, Level::Read)?;
        Ok(store::bulk_jobs::count_rows(&self.db, caller.account_id, id, status).await?)
    }
}

/// Ends a job with `status`; the chunk's transaction commits it.
async fn finish(
    txn: DatabaseTransaction,
    mut job: job::Model,
    status: JobStatus,
    now: DateTime<Utc>,
) -> Result<bool, JobFailure> {
    job.status = status;
    job.finished_at = Some(now);
    job.updated_at = now;
    store::bulk_jobs::update_job(&txn, job).await?;
    txn.commit().await?;
    Ok(true)
}

/// A row as stored: its source with the keys the batch checks read, and its result.
fn stored_row(
    account: AccountId,
    job: BulkUserJobId,
    outcome: RowOutcome,
    processed_at: Option<DateTime<Utc>>,
) -> job_row::Model {
    let created = outcome.status == RowStatus::Created;
    job_row::Model {
        account_id: account,
        job_id: job,
        position: outcome.position,
        username_key: outcome.source.username_key(),
        given_agent_id: outcome.source.agent_id,
        link_key: outcome.source.link_key(),
        source: serde_json::to_value(&outcome.source).unwrap_or(Value::Null),
        status: outcome.status,
        user_id: outcome.user_id.filter(|_| created),
        agent_id: outcome.agent_id.filter(|_| created),
        errors: (!outcome.errors.is_empty())
            .then(|| serde_json::to_value(&outcome.errors).unwrap_or(Value::Null)),
        processed_at,
    }
}

/// A row the checks let through, with the agent ID drawn for its first attempt.
struct PlannedRow {
    /// Its index in the chunk.
    index: usize,
    valid: ValidRow,
    choice: AgentChoice,
    agent_id: Option<i64>,
}

impl PlannedRow {
    fn new_user(&self, template: &Template) -> ValidUser {
        let agent = self.agent_id.and_then(|id| AgentId::parse(id).ok());
        ValidUser::from_template(self.valid.clone(), &template.user, agent)
    }
}

/// Records a written row's result in its outcome; a row not written gives its seat back.
fn settle(
    outcome: &mut RowOutcome,
    seats: &mut u64,
    write: Result<user::Model, RowWrite>,
) -> Option<user::Model> {
    match write {
        Ok(user) => return Some(user),
        Err(RowWrite::Skipped) => {
            outcome.status = RowStatus::Skipped;
            outcome.errors = vec![RowError::already_linked()];
        }
        Err(RowWrite::Failed(errors)) => fail(outcome, errors),
    }
    *seats += 1;
    None
}

/// Why a row that passed its checks was not written after all.
enum RowWrite {
    /// The pending user was activated meanwhile.
    Skipped,
    Failed(Vec<RowError>),
}

/// The position of the row at `index`, from 1.
fn position(index: usize) -> i32 {
    i32::try_from(index + 1).unwrap_or(i32::MAX)
}

/// The outcome a verdict announces, before anything is written.
fn outcome(position: i32, source: &SourceRow, verdict: &Verdict) -> RowOutcome {
    let (status, errors) = match verdict {
        Verdict::Create(..) => (RowStatus::Created, Vec::new()),
        Verdict::Skip(error) => (RowStatus::Skipped, vec![error.clone()]),
        Verdict::Fail(errors) => (RowStatus::Failed, errors.clone()),
    };
    RowOutcome {
        position,
        source: source.clone(),
        status,
        user_id: None,
        agent_id: None,
        errors,
    }
}

fn fail(outcome: &mut RowOutcome, errors: Vec<RowError>) {
    outcome.status = RowStatus::Failed;
    outcome.agent_id = None;
    outcome.errors = errors;
}

/// Runs bulk user jobs: chunk after chunk until the job has finished. The worker renews the
/// lease meanwhile; after a crash, another worker takes the job over and goes on with the rows
/// still queued (each chunk commits its rows and the job's progress together).
pub struct RunBulkUserJob;

#[async_trait::async_trait]
impl crate::jobs::JobHandler for RunBulkUserJob {
    fn kind(&self) -> &'static str {
        RUN_BULK_JOB
    }

    async fn run(&self, ctx: crate::jobs::JobContext<'_>) -> Result<(), JobFailure> {
        let field = |name: &str| {
            ctx.job
                .payload
                .get(name)
                .and_then(Value::as_str)
                .and_then(|v| v.parse().ok())
        };
        let (Some(account), Some(id)) = (
            field("accountId").map(AccountId),
            field("jobId").map(BulkUserJobId),
        ) else {
            return Err(JobFailure::Permanent("the job names no bulk job".into()));
        };
        loop {
            store::refresh_stale_statistics(&ctx.services.db, store::bulk_jobs::GROWING_TABLES)
                .await?;
            if ctx.services.run_bulk_chunk(account, id).await? {
                return Ok(());
            }
        }
    }
}
