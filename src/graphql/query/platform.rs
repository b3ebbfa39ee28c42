//! Platform operators' reads: the accounts, with their status and seats. Account users get
//! FORBIDDEN here, as operators do on every field of account data.

use async_graphql::connection::Connection;
use async_graphql::{Context, InputObject, Object};

use crate::auth::principal::Operator;
use crate::graphql::context::{max_page, principal, services};
use crate::graphql::relay::{self, CursorScope, PageArgs, TotalCount};
use crate::graphql::types::platform::{AccountStatus, ManagedAccount, OutboxMessage, OutboxStatus};
use crate::service::platform::{self, PlatformCaller};
use crate::store::accounts::AccountFilter;
use crate::store::outbox::OutboxFilter;

/// Which accounts to list. All conditions must hold.
#[derive(InputObject, Default, Clone, Debug)]
pub struct ManagedAccountFilterInput {
    /// Any of these statuses.
    #[graphql(validator(max_items = 10))]
    pub statuses: Option<Vec<AccountStatus>>,
    /// Text in the slug or the name, in any letter case.
    #[graphql(validator(max_length = 200))]
    pub text: Option<String>,
}

impl ManagedAccountFilterInput {
    fn to_filter(&self) -> AccountFilter {
        AccountFilter {
            statuses: self
                .statuses
                .iter()
                .flatten()
                .map(|status| (*status).into())
                .collect(),
            text: self.text.clone(),
        }
    }
}

#[derive(Default)]
pub struct PlatformQuery;

#[Object]
impl PlatformQuery {
    /// Every customer account, by slug, with its status, creation time, seats used and licence
    /// limit. Platform operators only (scope `accounts:read`); account users get FORBIDDEN.
    #[graphql(complexity = "relay::page_complexity(first, last, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which accounts to list; every account when omitted.")] filter: Option<
            ManagedAccountFilterInput,
        >,
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
    ) -> async_graphql::Result<Connection<relay::Cursor, ManagedAccount, TotalCount>> {
        let operator: Operator = platform::operator(principal(ctx))?.clone();
        let caller = PlatformCaller::Operator(&operator);
        let services = services(ctx).clone();
        let input = filter.unwrap_or_default();
        let scope = CursorScope {
            list: "accounts",
            ordering: format!("SLUG{input:?}"),
            account: None,
        };
        let filter = input.to_filter();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let window = relay::window(&args, &scope, max_page(ctx), || {
            services.managed_accounts_count(&caller, &filter)
        })
        .await?;
        let accounts = services
            .managed_accounts(&caller, &filter, window.offset, window.limit + 1)
            .await?;
        let total = TotalCount::new(move || {
            let (services, operator, filter) = (services.clone(), operator.clone(), filter.clone());
            async move {
                services
                    .managed_accounts_count(&PlatformCaller::Operator(&operator), &filter)
                    .await
            }
        });
        Ok(relay::connection(
            &scope,
            window,
            accounts.into_iter().map(ManagedAccount).collect(),
            total,
        ))
    }

    /// The outbox, newest first: every email Liaison recorded, with its delivery state.
    /// Platform operators only (scope `mail:read`).
    #[graphql(complexity = "relay::page_complexity(first, None, child_complexity)")]
    async fn outbox_messages(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only messages in one of these states.")] statuses: Option<
            Vec<OutboxStatus>,
        >,
        #[graphql(desc = "Only messages to this address.")] to_address: Option<String>,
        #[graphql(desc = "How many messages, 1 to the maximum page size; 20 when omitted.")] first: Option<i32>,
        #[graphql(
            desc = "Start after this edge `cursor`, taken from this list with the same arguments."
        )]
        after: Option<String>,
    ) -> async_graphql::Result<Connection<relay::Cursor, OutboxMessage, TotalCount>> {
        let operator = platform::operator(principal(ctx))?.clone();
        let services = services(ctx).clone();
        let filter = OutboxFilter {
            account_id: None,
            statuses: statuses.iter().flatten().map(|s| (*s).into()).collect(),
            to_address,
        };
        let scope = CursorScope {
            list: "outboxMessages",
            ordering: format!("{filter:?}"),
            account: None,
        };
        let args = PageArgs {
            first,
            after,
            last: None,
            before: None,
        };
        let caller = PlatformCaller::Operator(&operator);
        let window = relay::window(&args, &scope, max_page(ctx), || {
            services.outbox_count(&caller, &filter)
        })
        .await?;
        let messages = services
            .outbox(&caller, &filter, window.offset, window.limit + 1)
            .await?;
        let total = TotalCount::new(move || {
            let (services, operator, filter) = (services.clone(), operator.clone(), filter.clone());
            async move {
                services
                    .outbox_count(&PlatformCaller::Operator(&operator), &filter)
                    .await
            }
        });
        Ok(relay::connection(
            &scope,
            window,
            messages.into_iter().map(OutboxMessage).collect(),
            total,
        ))
    }
}
