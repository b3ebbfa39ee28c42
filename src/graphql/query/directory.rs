use async_graphql::connection::Connection;
use async_graphql::{Context, Object};

use crate::graphql::context::{caller, max_page, services};
use crate::graphql::relay::{self, CursorScope, PageArgs, TotalCount};
use crate::graphql::types::directory::{Group, Skill};
use crate::graphql::types::enums::TelephonyResourceKind;
use crate::graphql::types::role::Role;
use crate::graphql::types::telephony::TelephonyResource;
use crate::service::directory::Directory;

#[derive(Default)]
pub struct DirectoryQuery;

fn scope(ctx: &Context<'_>, list: &'static str) -> async_graphql::Result<CursorScope> {
    Ok(CursorScope {
        list,
        ordering: "NAME".into(),
        account: Some(caller(ctx)?.account_id),
    })
}

#[Object]
impl DirectoryQuery {
    /// The account's roles, by name. Needs ROLES READ.
    #[graphql(complexity = "relay::page_complexity(first, last, child_complexity)")]
    async fn roles(
        &self,
        ctx: &Context<'_>,
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
    ) -> async_graphql::Result<Connection<relay::Cursor, Role, TotalCount>> {
        let roles = services(ctx).roles(caller(ctx)?).await?;
        let roles = roles
            .into_iter()
            .map(|r| Role::with_grants(r.role, r.grants))
            .collect();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        Ok(relay::connection_from_vec(&args, &scope(ctx, "roles")?, max_page(ctx), roles).await?)
    }

    /// The account's groups, by name. Needs USERS READ.
    #[graphql(complexity = "relay::page_complexity(first, last, child_complexity)")]
    async fn groups(
        &self,
        ctx: &Context<'_>,
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
    ) -> async_graphql::Result<Connection<relay::Cursor, Group, TotalCount>> {
        let groups = services(ctx)
            .directory_list(caller(ctx)?, Directory::Groups)
            .await?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let groups = groups.into_iter().map(Group).collect();
        Ok(
            relay::connection_from_vec(&args, &scope(ctx, "groups")?, max_page(ctx), groups)
                .await?,
        )
    }

    /// The account's skills, by name. Needs USERS READ.
    #[graphql(complexity = "relay::page_complexity(first, last, child_complexity)")]
    async fn skills(
        &self,
        ctx: &Context<'_>,
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
    ) -> async_graphql::Result<Connection<relay::Cursor, Skill, TotalCount>> {
        let skills = services(ctx)
            .directory_list(caller(ctx)?, Directory::Skills)
            .await?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let skills = skills.into_iter().map(Skill).collect();
        Ok(
            relay::connection_from_vec(&args, &scope(ctx, "skills")?, max_page(ctx), skills)
                .await?,
        )
    }

    /// The account's queues and lines, by kind and name. Needs USERS READ.
    #[graphql(complexity = "relay::page_complexity(first, last, child_complexity)")]
    async fn telephony_resources(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only queues or only lines; both when omitted.")] kind: Option<
            TelephonyResourceKind,
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
    ) -> async_graphql::Result<Connection<relay::Cursor, TelephonyResource, TotalCount>> {
        let resources = services(ctx)
            .telephony_resources(caller(ctx)?, kind.map(Into::into))
            .await?;
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let scope = CursorScope {
            list: "telephonyResources",
            ordering: format!("KIND_NAME{kind:?}"),
            account: Some(caller(ctx)?.account_id),
        };
        let resources = resources.into_iter().map(TelephonyResource).collect();
        Ok(relay::connection_from_vec(&args, &scope, max_page(ctx), resources).await?)
    }
}
