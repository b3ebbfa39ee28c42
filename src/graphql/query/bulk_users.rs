use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};

use crate::domain::ids::BulkUserJobId;
use crate::graphql::context::{caller, services};
use crate::graphql::relay::{self, CursorScope, TotalCount, decode_typed};
use crate::graphql::types::bulk_users::{BULK_USER_JOB, BulkUserJob};

#[derive(Default)]
pub struct BulkUserQuery;

#[Object]
impl BulkUserQuery {
    /// The account's bulk user jobs, newest first. Needs BULK_USERS READ.
    #[graphql(complexity = "relay::page_complexity(first, None, child_complexity)")]
    async fn bulk_user_jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "How many items to return from the start, or after `after`: 1 to the maximum \
                   page size (100 by default); 20 when omitted."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this edge `cursor`, taken from this list with the same arguments."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, BulkUserJob, TotalCount>> {
        let caller = caller(ctx)?.clone();
        let scope = CursorScope {
            list: "bulkUserJobs",
            ordering: "NEWEST".into(),
            account: Some(caller.account_id),
        };
        relay::services_page(
            ctx,
            caller,
            (first, after),
            scope,
            move |services, caller| async move { services.bulk_user_job_count(&caller).await },
            move |services, caller, offset, limit| async move {
                Ok(services
                    .bulk_user_jobs(&caller, offset, limit)
                    .await?
                    .into_iter()
                    .map(BulkUserJob)
                    .collect())
            },
        )
        .await
    }

    /// One bulk user job of the account. Needs BULK_USERS READ.
    async fn bulk_user_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's global id.")] id: ID,
    ) -> async_graphql::Result<BulkUserJob> {
        let id: BulkUserJobId = decode_typed(&id, BULK_USER_JOB)?;
        Ok(BulkUserJob(
            services(ctx).bulk_user_job(caller(ctx)?, id).await?,
        ))
    }
}
