use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::graphql::context::{caller, max_page, services};
use crate::graphql::relay::{self, CursorScope, PageArgs, TotalCount};
use crate::graphql::types::audit::AuditEvent;
use crate::store::audit::AuditFilter;

/// Which audit events to list.
#[derive(InputObject, Default, Clone, Debug)]
pub struct AuditFilterInput {
    /// Any of these actions, e.g. `user.created`.
    #[graphql(validator(max_items = 50))]
    pub actions: Option<Vec<String>>,
    /// Events by this actor id.
    pub actor_id: Option<String>,
    /// Events about this record: a global id or a raw id.
    pub target_id: Option<ID>,
    /// Events at or after this time.
    pub since: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The account's audit log, newest first. Needs AUDIT_LOG READ.
    #[graphql(complexity = "relay::page_complexity(first, last, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which events to list; every event of the account when omitted.")]
        filter: Option<AuditFilterInput>,
        #[graphql(
            desc = "How many items to return from the start, or after `after`: 1 to the maximum \
                   page size (100 by default); 20 when neither `first` nor `last` is given. \
                   Cannot be combined with `last`."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this edge `cursor`, taken from this list with the same arguments."
        )]
        after: Option<String>,
        #[graphql(
            desc = "How many items to return from the end, or before `before`: 1 to the maximum \
                   page size (100 by default). Cannot be combined with `first`."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "End before this edge `cursor`, taken from this list with the same arguments."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, AuditEvent, TotalCount>> {
        let caller = caller(ctx)?.clone();
        let services = services(ctx).clone();
        let input = filter.unwrap_or_default();
        let scope = CursorScope {
            list: "auditLog",
            ordering: format!("NEWEST{input:?}"),
            account: Some(caller.account_id),
        };
        let target_id = input.target_id.map(|id| {
            relay::decode_id(&id)
                .map(|(_, key)| key)
                .unwrap_or_else(|_| id.to_string())
        });
        let filter = AuditFilter {
            actions: input.actions.unwrap_or_default(),
            actor_id: input.actor_id,
            target_id,
            since: input.since,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let window = relay::window(&args, &scope, max_page(ctx), || {
            services.audit_log_count(&caller, &filter)
        })
        .await?;
        let events = services
            .audit_log(&caller, &filter, window.offset, window.limit + 1)
            .await?;
        let total = TotalCount::new(move || {
            let (services, caller, filter) = (services.clone(), caller.clone(), filter.clone());
            async move { services.audit_log_count(&caller, &filter).await }
        });
        Ok(relay::connection(
            &scope,
            window,
            events.into_iter().map(AuditEvent).collect(),
            total,
        ))
    }
}
