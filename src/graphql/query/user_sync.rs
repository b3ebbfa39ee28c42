use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};

use crate::domain::ids::{SyncRunId, SyncSourceId};
use crate::graphql::context::{caller, services};
use crate::graphql::relay::{self, CursorScope, TotalCount, decode_typed};
use crate::graphql::types::user_sync::{SYNC_RUN, SYNC_SOURCE, SyncRun, SyncSource};

#[derive(Default)]
pub struct UserSyncQuery;

#[Object]
impl UserSyncQuery {
    /// The account's sync sources (one per directory integration). Needs USER_SYNC READ.
    async fn user_sync_sources(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SyncSource>> {
        Ok(services(ctx)
            .user_sync_sources(caller(ctx)?)
            .await?
            .into_iter()
            .map(SyncSource)
            .collect())
    }

    /// A source's runs and previews, newest first. Needs USER_SYNC READ.
    #[graphql(complexity = "relay::page_complexity(first, None, child_complexity)")]
    async fn user_sync_runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The source's global id.")] source_id: ID,
        #[graphql(
            desc = "How many items to return from the start, or after `after`: 1 to the maximum \
                   page size (100 by default); 20 when omitted."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this edge `cursor`, taken from this list with the same arguments."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, SyncRun, TotalCount>> {
        let source: SyncSourceId = decode_typed(&source_id, SYNC_SOURCE)?;
        let caller = caller(ctx)?.clone();
        let scope = CursorScope {
            list: "userSyncRuns",
            ordering: source.to_string(),
            account: Some(caller.account_id),
        };
        relay::services_page(
            ctx,
            caller,
            (first, after),
            scope,
            move |services, caller| async move { services.user_sync_run_count(&caller, source).await },
            move |services, caller, offset, limit| async move {
                Ok(services
                    .user_sync_runs(&caller, source, offset, limit)
                    .await?
                    .into_iter()
                    .map(SyncRun)
                    .collect())
            },
        )
        .await
    }

    /// One sync run or preview of the account. Needs USER_SYNC READ.
    async fn user_sync_run(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The run's global id.")] id: ID,
    ) -> async_graphql::Result<SyncRun> {
        let id: SyncRunId = decode_typed(&id, SYNC_RUN)?;
        Ok(SyncRun(
            services(ctx).user_sync_run(caller(ctx)?, id).await?,
        ))
    }
}
