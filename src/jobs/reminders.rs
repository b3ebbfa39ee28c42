//! The contact-review reminder: a schedule runs it every few hours; it emails the admins of each
//! account whose review is due or whose required topics are empty, once per review period.

use chrono::Duration;

use super::{JobContext, JobFailure, JobHandler};
use crate::error::AppResult;
use crate::service::Services;
use crate::store;
use crate::store::entities::schedule::ScheduleAnchor;
use crate::store::schedules::{Every, NewSchedule};

pub const CONTACT_REMINDERS: &str = "contacts.review_reminders";

/// Creates the reminder schedule if it does not exist (every replica may call it).
pub async fn ensure_schedule(services: &Services) -> AppResult<()> {
    let now = services.clock.now();
    store::schedules::ensure(
        &services.db,
        NewSchedule {
            name: CONTACT_REMINDERS.into(),
            account_id: None,
            job_kind: CONTACT_REMINDERS.into(),
            payload: serde_json::json!({}),
            every: Every::Seconds(6 * 3600),
            anchor: ScheduleAnchor::AfterCompletion,
            jitter_seconds: 300,
            first_run_at: now + Duration::minutes(1),
        },
        now,
    )
    .await?;
    Ok(())
}

pub struct ContactReviewReminders;

#[async_trait::async_trait]
impl JobHandler for ContactReviewReminders {
    fn kind(&self) -> &'static str {
        CONTACT_REMINDERS
    }

    async fn run(&self, ctx: JobContext<'_>) -> Result<(), JobFailure> {
        let reminded = ctx.services.send_contact_reminders().await?;
        tracing::info!(reminded, "contact review reminders sent");
        Ok(())
    }
}
