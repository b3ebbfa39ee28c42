//! Background work: one durable job system for outbox delivery, reminders, bulk jobs and sync
//! runs. Jobs and schedules live in our own tables under our Migrator; a job is enqueued in the
//! same transaction as the change that causes it; a worker claims a due job with a lease, so a job
//! claimed by one replica is not run by another, and a crashed worker's job is taken over once its
//! lease expires. Delivery is at least once: handlers are idempotent.
//!
//! The [`worker::Worker`] is a step function tests drive (`run_pending_jobs()` until empty) with
//! an injectable clock; in a server it runs in a loop until shutdown.

pub mod maintenance;
pub mod reminders;
pub mod request_expiry;
pub mod schedule;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use crate::error::AppError;
use crate::service::Services;
use crate::store::entities::job;

/// What a handler gets: the services and the claimed job.
pub struct JobContext<'a> {
    pub services: &'a Services,
    pub job: &'a job::Model,
}

impl JobContext<'_> {
    /// Whether this is the last attempt the job gets.
    pub fn last_attempt(&self) -> bool {
        self.job.attempts >= self.job.max_attempts
    }
}

/// Why a run did not succeed.
#[derive(Debug)]
pub enum JobFailure {
    /// Try again later (with backoff), unless the attempts are used up.
    Retry(String),
    /// Do not try again.
    Permanent(String),
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobFailure::Retry(reason) | JobFailure::Permanent(reason) => f.write_str(reason),
        }
    }
}

impl From<AppError> for JobFailure {
    fn from(error: AppError) -> Self {
        JobFailure::Retry(format!("{error:?}"))
    }
}

impl From<sea_orm::DbErr> for JobFailure {
    fn from(error: sea_orm::DbErr) -> Self {
        JobFailure::Retry(error.to_string())
    }
}

/// The code that runs one kind of job.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The `kind` of the jobs it runs, e.g. `mail.deliver`.
    fn kind(&self) -> &'static str;
    async fn run(&self, ctx: JobContext<'_>) -> Result<(), JobFailure>;
}

/// The handlers a worker knows, by kind.
#[derive(Clone, Default)]
pub struct Handlers(HashMap<&'static str, Arc<dyn JobHandler>>);

impl Handlers {
    pub fn with(mut self, handler: impl JobHandler) -> Self {
        self.0.insert(handler.kind(), Arc::new(handler));
        self
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.0.get(kind).cloned()
    }

    /// Every handler Liaison ships; a notice fan-out step writes `notice_batch` recipients.
    pub fn built_in(notice_batch: u64) -> Self {
        Self::default()
            .with(maintenance::PurgeFinishedJobs)
            .with(crate::mail::outbox::DeliverEmail)
            .with(reminders::ContactReviewReminders)
            .with(request_expiry::ExpireConnectionRequests)
            .with(crate::service::bulk_users::RunBulkUserJob)
            .with(crate::service::user_sync::RunUserSync)
            .with(crate::service::notices::FanOutNotice {
                batch: notice_batch,
            })
    }
}

/// Exponential backoff with jitter: 10 s, 20 s, 40 s … capped at an hour, ±20 %.
pub fn backoff(attempts: i32, now: DateTime<Utc>) -> DateTime<Utc> {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(12);
    let base = (10_i64 << exponent).min(3600);
    let jitter = rand::rng().random_range(0.8..1.2);
    now + Duration::milliseconds((base as f64 * 1000.0 * jitter) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let now = Utc::now();
        let first = (backoff(1, now) - now).num_seconds();
        let third = (backoff(3, now) - now).num_seconds();
        let late = (backoff(30, now) - now).num_seconds();
        assert!((8..=12).contains(&first), "{first}");
        assert!((32..=48).contains(&third), "{third}");
        assert!((2880..=4320).contains(&late), "{late}");
    }
}
