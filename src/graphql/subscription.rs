//! Subscriptions over `/graphql/ws` (graphql-transport-ws). Events are read from the database, so a
//! subscriber sees changes made on any replica; permissions are checked again for every event.

use std::collections::HashSet;
use std::time::Duration;

use async_graphql::{Context, ID, Subscription as SubscriptionObject};
use futures_util::Stream;

use crate::domain::ids::BulkUserJobId;
use crate::domain::permission::{Area, Level};
use crate::graphql::context::{caller, services};
use crate::graphql::relay::decode_typed;
use crate::graphql::types::audit::AuditEvent;
use crate::graphql::types::bulk_users::{BULK_USER_JOB, BulkUserJob};
use crate::store::audit::AuditFilter;

/// How often a subscription looks for new events.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

pub struct Subscription;

/// Live events over `/graphql/ws` (graphql-transport-ws). Authenticate with
/// `{"Authorization": "Bearer <token>"}` as the `connection_init` payload.
#[SubscriptionObject]
impl Subscription {
    /// New audit events of the account as they are written. Needs AUDIT_LOG READ, checked again
    /// before each event (a revoked role ends the stream with FORBIDDEN).
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<AuditEvent>>> {
        let services = services(ctx).clone();
        let caller = caller(ctx)?.clone();
        caller.require(Area::AuditLog, Level::Read)?;
        let start = services.clock.now();
        Ok(async_stream::try_stream! {
            // Events at or after `since`; `seen` holds only the ids stamped exactly `since`,
            // which the next poll returns again.
            let mut since = start;
            let mut seen = HashSet::new();
            loop {
                let current = services.refresh_access(&caller).await?;
                let filter = AuditFilter { since: Some(since), ..AuditFilter::default() };
                let mut events = services.audit_log(&current, &filter, 0, 100).await?;
                events.reverse();
                for event in events {
                    if seen.contains(&event.id) {
                        continue;
                    }
                    if event.created_at > since {
                        since = event.created_at;
                        seen.clear();
                    }
                    seen.insert(event.id);
                    yield AuditEvent(event);
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        })
    }

    /// A bulk user job each time its status or progress changes: first as it is when
    /// subscribed, last when it has finished (then the stream ends). Works wherever the job
    /// runs, as it reads the job from the database. Needs BULK_USERS READ, checked again before
    /// each event.
    async fn bulk_user_job_progress(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's global id. Any other id is NOT_FOUND.")] id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<BulkUserJob>>> {
        let services = services(ctx).clone();
        let caller = caller(ctx)?.clone();
        let id: BulkUserJobId = decode_typed(&id, BULK_USER_JOB)?;
        // Refuse at once (FORBIDDEN, NOT_FOUND) rather than with the first event.
        let mut job = services.bulk_user_job(&caller, id).await?;
        Ok(async_stream::try_stream! {
            let mut last = None;
            loop {
                let finished = job.status.is_finished();
                if last.as_ref() != Some(&job) {
                    last = Some(job.clone());
                    yield BulkUserJob(job.clone());
                }
                if finished {
                    break;
                }
                tokio::time::sleep(POLL_INTERVAL).await;
                let current = services.refresh_access(&caller).await?;
                job = services.bulk_user_job(&current, id).await?;
            }
        })
    }
}
