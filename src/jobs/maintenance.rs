//! Housekeeping jobs.

use chrono::Duration;

use super::{JobContext, JobFailure, JobHandler};
use crate::error::AppResult;
use crate::service::Services;
use crate::store;
use crate::store::entities::schedule::ScheduleAnchor;
use crate::store::schedules::{Every, NewSchedule};

/// Creates the built-in schedules if they do not exist (every replica may call it).
pub async fn ensure_schedules(services: &Services) -> AppResult<()> {
    let now = services.clock.now();
    store::schedules::ensure(
        &services.db,
        NewSchedule {
            name: PURGE_FINISHED_JOBS.into(),
            account_id: None,
            job_kind: PURGE_FINISHED_JOBS.into(),
            payload: serde_json::json!({}),
            every: Every::Seconds(24 * 3600),
            anchor: ScheduleAnchor::AfterCompletion,
            jitter_seconds: 600,
            first_run_at: now + Duration::hours(1),
        },
        now,
    )
    .await?;
    Ok(())
}

/// Deletes finished jobs: successes after 7 days, failures after 30 (their errors stay readable
/// for a month).
pub struct PurgeFinishedJobs;

pub const PURGE_FINISHED_JOBS: &str = "maintenance.purge_finished_jobs";

#[async_trait::async_trait]
impl JobHandler for PurgeFinishedJobs {
    fn kind(&self) -> &'static str {
        PURGE_FINISHED_JOBS
    }

    async fn run(&self, ctx: JobContext<'_>) -> Result<(), JobFailure> {
        let now = ctx.services.clock.now();
        let purged = store::jobs::purge_finished(
            &ctx.services.db,
            now - Duration::days(7),
            now - Duration::days(30),
        )
        .await?;
        tracing::info!(purged, "purged finished jobs");
        Ok(())
    }
}
