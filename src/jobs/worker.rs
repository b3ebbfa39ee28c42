//! The worker: claims due jobs and runs them, and takes due schedule ticks. Every step is a plain
//! async call, so tests run exactly what a server runs, deterministically.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::Value;
use tokio::sync::watch;

use super::schedule::{next_after_completion, next_fixed};
use super::{Handlers, JobContext, JobFailure, backoff};
use crate::error::AppResult;
use crate::service::Services;
use crate::store::entities::job::{self, JobStatus};
use crate::store::entities::schedule::ScheduleAnchor;
use crate::store::jobs::NewJob;
use crate::store::{self, begin_write};

/// How a claimed job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Retrying,
    Failed(String),
    /// The lease was lost (another worker took the job over): nothing was recorded.
    LeaseLost,
}

#[derive(Clone)]
pub struct Worker {
    services: Services,
    handlers: Arc<Handlers>,
    owner: String,
    lease: Duration,
    poll: StdDuration,
}

/// Attempts a scheduled job gets.
const SCHEDULED_ATTEMPTS: i32 = 5;
/// A bound on one `run_pending_jobs` call, so a flood cannot keep it busy forever.
const MAX_JOBS_PER_PASS: usize = 10_000;

impl Worker {
    pub fn new(
        services: Services,
        handlers: Handlers,
        lease: StdDuration,
        poll: StdDuration,
    ) -> Self {
        Self {
            services,
            handlers: Arc::new(handlers),
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            lease: Duration::from_std(lease).unwrap_or(Duration::seconds(60)),
            poll,
        }
    }

    /// This worker's lease owner name.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Takes every due schedule tick this worker wins and enqueues its job.
    pub async fn tick_schedules(&self) -> AppResult<usize> {
        let now = self.services.clock.now();
        let mut fired = 0;
        for schedule in store::schedules::due(&self.services.db, now).await? {
            let Some(planned) = schedule.next_run_at else {
                continue;
            };
            let next = match schedule.anchor {
                ScheduleAnchor::Fixed => Some(next_fixed(&schedule, planned, now)),
                ScheduleAnchor::AfterCompletion => None,
            };
            let txn = begin_write(&self.services.db).await?;
            if store::schedules::take_tick(&txn, &schedule.name, planned, next, now).await? {
                store::jobs::enqueue(
                    &txn,
                    NewJob {
                        account_id: schedule.account_id,
                        kind: schedule.job_kind.clone(),
                        payload: schedule.payload.clone(),
                        run_at: now,
                        max_attempts: SCHEDULED_ATTEMPTS,
                        dedupe_key: Some(format!(
                            "schedule:{}:{}",
                            schedule.name,
                            planned.timestamp_micros()
                        )),
                        schedule_name: Some(schedule.name.clone()),
                    },
                    now,
                )
                .await?;
                fired += 1;
            }
            txn.commit().await?;
        }
        Ok(fired)
    }

    /// Claims and runs one due job; `None` when nothing is due.
    pub async fn run_next(&self) -> AppResult<Option<(job::Model, Outcome)>> {
        let now = self.services.clock.now();
        let Some(job) =
            store::jobs::claim_next(&self.services.db, &self.owner, now, self.lease).await?
        else {
            return Ok(None);
        };
        let outcome = self.run_claimed(&job).await?;
        Ok(Some((job, outcome)))
    }

    /// Takes due schedule ticks, then runs jobs until none is due. Returns how many ran.
    pub async fn run_pending_jobs(&self) -> AppResult<usize> {
        self.tick_schedules().await?;
        let mut ran = 0;
        while ran < MAX_JOBS_PER_PASS {
            match self.run_next().await? {
                Some(_) => ran += 1,
                None => break,
            }
        }
        Ok(ran)
    }

    async fn run_claimed(&self, job: &job::Model) -> AppResult<Outcome> {
        let result = match self.handlers.get(&job.kind) {
            Some(handler) => {
                let run = handler.run(JobContext {
                    services: &self.services,
                    job,
                });
                self.with_heartbeat(job, run).await
            }
            None => Err(JobFailure::Permanent(format!(
                "no handler for job kind `{}`",
                job.kind
            ))),
        };
        let now = self.services.clock.now();
        let db = &self.services.db;
        let (held, outcome) = match result {
            Ok(()) => (
                store::jobs::finish(db, job.id, &self.owner, JobStatus::Succeeded, None, now)
                    .await?,
                Outcome::Succeeded,
            ),
            Err(JobFailure::Retry(error)) if job.attempts < job.max_attempts => {
                tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, %error, "job failed; will retry");
                let at = backoff(job.attempts, now);
                (
                    store::jobs::requeue(db, job.id, &self.owner, at, Some(&error), now).await?,
                    Outcome::Retrying,
                )
            }
            Err(JobFailure::Retry(error) | JobFailure::Permanent(error)) => {
                tracing::error!(job = %job.id, kind = %job.kind, %error, "job failed for good");
                (
                    store::jobs::finish(
                        db,
                        job.id,
                        &self.owner,
                        JobStatus::Failed,
                        Some(&error),
                        now,
                    )
                    .await?,
                    Outcome::Failed(error),
                )
            }
        };
        if !held {
            return Ok(Outcome::LeaseLost);
        }
        if outcome != Outcome::Retrying
            && let Some(name) = &job.schedule_name
        {
            self.schedule_completed(name, now).await?;
        }
        Ok(outcome)
    }

    async fn schedule_completed(
        &self,
        name: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<()> {
        let db = &self.services.db;
        let Some(schedule) = store::schedules::find(db, name).await? else {
            return Ok(());
        };
        let next = match schedule.anchor {
            ScheduleAnchor::AfterCompletion => Some(next_after_completion(&schedule, now)),
            ScheduleAnchor::Fixed => None,
        };
        store::schedules::completed(db, name, next, now).await?;
        Ok(())
    }

    /// Runs the handler while renewing the job's lease every third of its length.
    async fn with_heartbeat<F>(&self, job: &job::Model, run: F) -> Result<(), JobFailure>
    where
        F: std::future::Future<Output = Result<(), JobFailure>>,
    {
        let period = (self.lease / 3)
            .to_std()
            .unwrap_or(StdDuration::from_secs(20));
        let mut ticker = tokio::time::interval(period.max(StdDuration::from_millis(100)));
        ticker.tick().await;
        tokio::pin!(run);
        loop {
            tokio::select! {
                result = &mut run => return result,
                _ = ticker.tick() => {
                    let until = self.services.clock.now() + self.lease;
                    if let Err(error) = store::jobs::extend_lease(&self.services.db, job.id, &self.owner, until).await {
                        tracing::warn!(job = %job.id, %error, "could not renew the job's lease");
                    }
                }
            }
        }
    }

    /// Runs until `shutdown` turns true: between jobs it stops, so a job in flight finishes.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(owner = %self.owner, "background worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(error) = self.run_until_idle_or_stopped(&shutdown).await {
                tracing::error!(?error, "background worker pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(owner = %self.owner, "background worker stopped");
    }

    async fn run_until_idle_or_stopped(&self, shutdown: &watch::Receiver<bool>) -> AppResult<()> {
        self.tick_schedules().await?;
        while !*shutdown.borrow() {
            if self.run_next().await?.is_none() {
                break;
            }
        }
        Ok(())
    }
}

/// Enqueues a job inside the caller's transaction: the job exists exactly when the change does.
pub async fn enqueue(
    txn: &sea_orm::DatabaseTransaction,
    services: &Services,
    account_id: Option<crate::domain::ids::AccountId>,
    kind: &str,
    payload: Value,
    max_attempts: i32,
    dedupe_key: Option<String>,
) -> AppResult<Option<uuid::Uuid>> {
    let now = services.clock.now();
    Ok(store::jobs::enqueue(
        txn,
        NewJob {
            account_id,
            kind: kind.to_owned(),
            payload,
            run_at: now,
            max_attempts,
            dedupe_key,
            schedule_name: None,
        },
        now,
    )
    .await?)
}
