use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object};

use crate::domain::ids::ConnectionRequestId;
use crate::graphql::context::{caller, services};
use crate::graphql::relay::{self, CursorScope, TotalCount, decode_typed};
use crate::graphql::types::connection_request::{CONNECTION_REQUEST, ConnectionRequest};
use crate::graphql::types::enums::ConnectionRequestStatus;

#[derive(Default)]
pub struct ConnectionRequestQuery;

#[Object]
impl ConnectionRequestQuery {
    /// The account's connection requests, newest first. Needs CONNECTION_REQUESTS READ.
    #[graphql(complexity = "relay::page_complexity(first, None, child_complexity)")]
    async fn connection_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only requests in this status; every request when omitted.")]
        status: Option<ConnectionRequestStatus>,
        #[graphql(
            desc = "How many items to return from the start, or after `after`: 1 to the maximum \
                   page size (100 by default); 20 when omitted."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this edge `cursor`, taken from this list with the same arguments."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, ConnectionRequest, TotalCount>> {
        let caller = caller(ctx)?.clone();
        let status = status.map(Into::into);
        let scope = CursorScope {
            list: "connectionRequests",
            ordering: format!("NEWEST{status:?}"),
            account: Some(caller.account_id),
        };
        relay::services_page(
            ctx,
            caller,
            (first, after),
            scope,
            move |services, caller| async move {
                services.connection_request_count(&caller, status).await
            },
            move |services, caller, offset, limit| async move {
                Ok(services
                    .connection_requests(&caller, status, offset, limit)
                    .await?
                    .into_iter()
                    .map(ConnectionRequest)
                    .collect())
            },
        )
        .await
    }

    /// One connection request of the account. Needs CONNECTION_REQUESTS READ.
    async fn connection_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The request's global id.")] id: ID,
    ) -> async_graphql::Result<ConnectionRequest> {
        let id: ConnectionRequestId = decode_typed(&id, CONNECTION_REQUEST)?;
        Ok(ConnectionRequest(
            services(ctx).connection_request(caller(ctx)?, id).await?,
        ))
    }
}
