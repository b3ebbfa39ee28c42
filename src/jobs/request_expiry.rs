//! The connection-request expiry: a schedule runs it every few minutes; it ends the pending
//! requests whose link ran out and emails their requesters.

use chrono::Duration;

use super::{JobContext, JobFailure, JobHandler};
use crate::error::AppResult;
use crate::service::Services;
use crate::store;
use crate::store::entities::schedule::ScheduleAnchor;
use crate::store::schedules::{Every, NewSchedule};

pub const EXPIRE_REQUESTS: &str = "connection_requests.expire";
/// How often the sweep runs: a link is refused the moment it expires whatever the sweep does;
/// the sweep only records EXPIRED and tells the requester.
const EVERY_MINUTES: i64 = 10;

/// Creates the expiry schedule if it does not exist (every replica may call it).
pub async fn ensure_schedule(services: &Services) -> AppResult<()> {
    let now = services.clock.now();
    store::schedules::ensure(
        &services.db,
        NewSchedule {
            name: EXPIRE_REQUESTS.into(),
            account_id: None,
            job_kind: EXPIRE_REQUESTS.into(),
            payload: serde_json::json!({}),
            every: Every::Seconds(EVERY_MINUTES * 60),
            anchor: ScheduleAnchor::AfterCompletion,
            jitter_seconds: 30,
            first_run_at: now + Duration::minutes(EVERY_MINUTES),
        },
        now,
    )
    .await?;
    Ok(())
}

pub struct ExpireConnectionRequests;

#[async_trait::async_trait]
impl JobHandler for ExpireConnectionRequests {
    fn kind(&self) -> &'static str {
        EXPIRE_REQUESTS
    }

    async fn run(&self, ctx: JobContext<'_>) -> Result<(), JobFailure> {
        let expired = ctx.services.expire_connection_requests().await?;
        tracing::info!(expired, "connection requests expired");
        Ok(())
    }
}
